package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The backward ops against naive loops in double, on seeded random (never zero) inputs. */
class CpuGradsTest {

    @ParameterizedTest(name = "N={0} C={1} {2}x{3} K={4} {5}x{5} stride {6} pad {7} groups {8}")
    @CsvSource({
            "2, 3, 9, 9, 4, 1, 1, 0, 1",
            "1, 5, 8, 7, 6, 1, 2, 0, 1",
            "2, 4, 9, 9, 5, 3, 1, 1, 1",
            "1, 4, 9, 8, 5, 3, 2, 1, 1",
            "3, 3, 11, 11, 4, 7, 2, 3, 1",
            "2, 2, 6, 6, 3, 3, 2, 0, 1",
            "1, 3, 13, 13, 8, 7, 2, 3, 1",
            "4, 16, 5, 5, 12, 3, 1, 1, 1",
            "2, 64, 2, 2, 48, 3, 1, 1, 1",
            "2, 256, 2, 2, 64, 3, 1, 1, 1",
            "2, 8, 9, 9, 12, 3, 1, 1, 4",
            "3, 16, 8, 7, 16, 3, 2, 1, 8",
            "1, 12, 5, 5, 6, 1, 1, 0, 3",
    })
    void convBackwardMatchesNaiveLoops(int n, int c, int h, int w, int k, int r, int stride, int pad, int groups) {
        Tensor x = Naive.random(1, n, c, h, w);
        int cg = c / groups, kg = k / groups;
        Tensor wt = Naive.random(2, k, cg, r, r);
        int p = (h + 2 * pad - r) / stride + 1, q = (w + 2 * pad - r) / stride + 1;
        Tensor dy = Naive.random(3, n, k, p, q);

        double[] dxRef = new double[x.size()];
        double[] dwRef = new double[wt.size()];
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < k; o++) {
                for (int op = 0; op < p; op++) {
                    for (int oq = 0; oq < q; oq++) {
                        double g = dy.data()[((b * k + o) * p + op) * q + oq];
                        for (int j = 0; j < cg; j++) {
                            int ch = o / kg * cg + j;
                            for (int kr = 0; kr < r; kr++) {
                                for (int ks = 0; ks < r; ks++) {
                                    int ih = op * stride - pad + kr, iw = oq * stride - pad + ks;
                                    if (ih >= 0 && ih < h && iw >= 0 && iw < w) {
                                        int xi = ((b * c + ch) * h + ih) * w + iw, wi = ((o * cg + j) * r + kr) * r + ks;
                                        dxRef[xi] += g * wt.data()[wi];
                                        dwRef[wi] += g * x.data()[xi];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Tensor dx = Naive.random(4, n, c, h, w);            // garbage: dIn is overwritten
        CpuGrads.conv2dBackwardData(dx, dy, wt, stride, pad, groups);
        Tensor dw = Naive.random(5, k, cg, r, r);           // accumulated into
        float[] before = dw.data().clone();
        CpuGrads.conv2dBackwardFilter(dw, dy, x, stride, pad, groups);
        for (int i = 0; i < dwRef.length; i++) {
            dwRef[i] += before[i];
        }
        assertClose("dIn", dxRef, dx.data(), 1e-5);
        assertClose("dWeight", dwRef, dw.data(), 1e-5);
    }

    @Test
    void linearBackwardMatchesNaiveLoops() {
        int n = 3, in = 37, out = 11;
        Tensor x = Naive.random(10, n, in), w = Naive.random(11, out, in), dy = Naive.random(12, n, out);
        Tensor dx = Tensor.zeros(n, in), dw = Naive.random(13, out, in), db = Naive.random(14, out);
        float[] dw0 = dw.data().clone(), db0 = db.data().clone();
        CpuGrads.linearBackward(dx, dw, db, dy, x, w);
        double[] dxRef = new double[n * in], dwRef = new double[out * in], dbRef = new double[out];
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < out; o++) {
                double g = dy.data()[b * out + o];
                dbRef[o] += g;
                for (int i = 0; i < in; i++) {
                    dxRef[b * in + i] += g * w.data()[o * in + i];
                    dwRef[o * in + i] += g * x.data()[b * in + i];
                }
            }
        }
        for (int i = 0; i < dwRef.length; i++) {
            dwRef[i] += dw0[i];
        }
        for (int i = 0; i < out; i++) {
            dbRef[i] += db0[i];
        }
        assertClose("dIn", dxRef, dx.data(), 1e-5);
        assertClose("dWeight", dwRef, dw.data(), 1e-5);
        assertClose("dBias", dbRef, db.data(), 1e-5);
    }

    @Test
    void batchNormTrainingForwardMatchesNaiveLoops() {
        int n = 3, c = 4, h = 5, w = 6, m = n * h * w;
        Tensor x = Naive.random(20, n, c, h, w);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] = 3f + 2f * x.data()[i];            // mean far from 0, variance far from 1
        }
        Tensor gamma = Naive.random(21, c), beta = Naive.random(22, c);
        Tensor rm = Naive.random(23, c), rv = Tensor.zeros(c);
        for (int i = 0; i < c; i++) {
            rv.data()[i] = 0.5f + i;
        }
        float[] rm0 = rm.data().clone(), rv0 = rv.data().clone();
        Tensor y = Tensor.zeros(x.shape()), mean = Tensor.zeros(c), inv = Tensor.zeros(c);
        CpuGrads.batchNormTrain(y, mean, inv, x, gamma, beta, rm, rv, 0.1f, 1e-5f);
        double[] yRef = new double[x.size()];
        for (int ch = 0; ch < c; ch++) {
            double mu = 0, var = 0;
            for (int b = 0; b < n; b++) {
                for (int i = 0; i < h * w; i++) {
                    mu += x.data()[(b * c + ch) * h * w + i];
                }
            }
            mu /= m;
            for (int b = 0; b < n; b++) {
                for (int i = 0; i < h * w; i++) {
                    double d = x.data()[(b * c + ch) * h * w + i] - mu;
                    var += d * d;
                }
            }
            var /= m;
            for (int b = 0; b < n; b++) {
                for (int i = 0; i < h * w; i++) {
                    int j = (b * c + ch) * h * w + i;
                    yRef[j] = (x.data()[j] - mu) / Math.sqrt(var + 1e-5) * gamma.data()[ch] + beta.data()[ch];
                }
            }
            assertEquals(mu, mean.data()[ch], 1e-6 * Math.abs(mu));
            assertEquals(1 / Math.sqrt(var + 1e-5), inv.data()[ch], 1e-6);
            assertEquals(0.9 * rm0[ch] + 0.1 * mu, rm.data()[ch], 1e-6, "running mean moves towards the batch mean");
            assertEquals(0.9 * rv0[ch] + 0.1 * var * m / (m - 1), rv.data()[ch], 1e-5,
                    "running var moves towards the unbiased variance");
        }
        assertClose("batchNormTrain output", yRef, y.data(), 1e-5);
    }

    @Test
    void batchNormTrainingNeedsMoreThanOneValuePerChannel() {
        Tensor x = Naive.random(1, 1, 3, 1, 1);
        var e = assertThrows(IllegalArgumentException.class, () -> CpuGrads.batchNormTrain(Tensor.zeros(1, 3, 1, 1),
                Tensor.zeros(3), Tensor.zeros(3), x, Tensor.zeros(3), Tensor.zeros(3), null, null, 0.1f, 1e-5f));
        assertTrue(e.getMessage().contains("more than 1 value per channel"), e.getMessage());
    }

    @Test
    void crossEntropyMatchesTheDefinitionWithAndWithoutSmoothing() {
        Tensor logits = Naive.random(30, 4, 5);
        int[] y = {1, 4, 0, 1};
        for (float eps : new float[] {0f, 0.1f, 0.3f}) {
            Tensor d = Naive.random(31, 4, 5);
            float loss = CpuGrads.softmaxCrossEntropy(d, logits, y, eps);
            double ref = 0;
            double[] dRef = new double[20];
            for (int b = 0; b < 4; b++) {
                double z = 0;
                for (int j = 0; j < 5; j++) {
                    z += Math.exp(logits.data()[b * 5 + j]);
                }
                for (int j = 0; j < 5; j++) {
                    double logp = logits.data()[b * 5 + j] - Math.log(z);
                    double q = (j == y[b] ? 1 - eps : 0) + eps / 5;
                    ref -= q * logp / 4;
                    dRef[b * 5 + j] = (Math.exp(logp) - q) / 4;
                }
            }
            assertEquals(ref, loss, 1e-6 * ref, "loss at label smoothing " + eps);
            assertClose("dLogits at label smoothing " + eps, dRef, d.data(), 1e-6);
        }
        // A large logit must not overflow: the max is subtracted before exp.
        Tensor big = new Tensor(dev.jresnet.tensor.Shape.of(1, 2), new float[] {1000f, 0f});
        assertEquals(1000f, CpuGrads.softmaxCrossEntropy(null, big, new int[] {1}, 0f), 1e-3);
        var e = assertThrows(IllegalArgumentException.class,
                () -> CpuGrads.softmaxCrossEntropy(null, logits, new int[] {0, 1, 5, 0}, 0f));
        assertTrue(e.getMessage().contains("targets[2] = 5"), e.getMessage());
    }

    @Test
    void maxPoolBackwardRoutesToTheFirstMaximumOnTies() {
        // All equal: every window's gradient goes to its first valid position in scan order.
        Tensor x = Tensor.zeros(1, 1, 4, 4);
        java.util.Arrays.fill(x.data(), 1f);
        Tensor dy = new Tensor(dev.jresnet.tensor.Shape.of(1, 1, 2, 2), new float[] {1f, 2f, 3f, 4f});
        Tensor dx = Naive.random(40, 1, 1, 4, 4);
        CpuGrads.maxPoolBackward(dx, dy, x, pooled(x), 3, 2, 1);
        // windows (rows x cols) [0,1]x[0,1], [0,1]x[1,3], [1,3]x[0,1], [1,3]x[1,3] -> first cells (0,0), (0,1), (1,0), (1,1)
        assertArrayEquals(new float[] {1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, dx.data());
    }

    @Test
    void maxPoolBackwardMatchesNaiveArgmaxAndSumsOverlappingWindows() {
        Tensor x = Naive.random(41, 2, 3, 9, 8);
        Tensor dy = Naive.random(42, 2, 3, 5, 4);
        Tensor dx = Tensor.zeros(x.shape());
        CpuGrads.maxPoolBackward(dx, dy, x, pooled(x), 3, 2, 1);
        double[] ref = new double[x.size()];
        for (int plane = 0; plane < 6; plane++) {
            for (int op = 0; op < 5; op++) {
                for (int oq = 0; oq < 4; oq++) {
                    int best = -1;
                    for (int ih = op * 2 - 1; ih <= op * 2 + 1; ih++) {
                        for (int iw = oq * 2 - 1; iw <= oq * 2 + 1; iw++) {
                            if (ih >= 0 && ih < 9 && iw >= 0 && iw < 8) {
                                int i = plane * 72 + ih * 8 + iw;
                                if (best < 0 || x.data()[i] > x.data()[best]) {
                                    best = i;
                                }
                            }
                        }
                    }
                    ref[best] += dy.data()[plane * 20 + op * 4 + oq];
                }
            }
        }
        assertClose("maxPool dIn", ref, dx.data(), 1e-7);
    }

    /**
     * PyTorch's routing on ordinary mixed-sign activations with NaNs: a window with a NaN sends its gradient to its
     * last NaN (torch 1.13's max_pool2d records that index), an all-negative window to its maximum, never to the
     * window's first cell by default.
     */
    @ParameterizedTest(name = "[2,3,{0},{1}] kernel {2} stride {3} pad {4}")
    @CsvSource({"17, 15, 3, 2, 1", "12, 10, 2, 2, 0", "9, 11, 3, 1, 1"})
    void maxPoolBackwardRoutesAsPyTorchThroughNanAndAllNegativeWindows(int h, int w, int k, int s, int pad) {
        Tensor x = NaiveMaxPool.input(43, 2, 3, h, w);
        NaiveMaxPool.requireEveryKindOfWindow(x, k, s, pad);
        Tensor y = NaiveMaxPool.forward(x, k, s, pad);
        int[] winners = NaiveMaxPool.winners(x, k, s, pad);
        Tensor dy = Naive.random(44, y.shape().dims());
        // Summed in float in output order, as the engine sums overlapping windows: so equal bit for bit.
        float[] ref = new float[x.size()];
        for (int o = 0; o < winners.length; o++) {
            ref[winners[o]] += dy.data()[o];
        }
        Tensor dx = Naive.random(45, x.shape().dims());  // dirty: every element must be written
        CpuGrads.maxPoolBackward(dx, dy, x, y, k, s, pad);
        assertArrayEquals(ref, dx.data());
    }

    @Test
    void elementwiseBackwards() {
        Tensor y = Naive.random(50, 2, 3, 4, 5);
        CpuOps.relu(y, y);
        Tensor dy = Naive.random(51, 2, 3, 4, 5);
        Tensor dx = Tensor.zeros(y.shape());
        CpuGrads.reluBackward(dx, dy, y);
        for (int i = 0; i < y.size(); i++) {
            assertEquals(y.data()[i] > 0 ? dy.data()[i] : 0f, dx.data()[i]);
        }
        Tensor g = Naive.random(52, 2, 3);
        Tensor dIn = Tensor.zeros(2, 3, 4, 5);
        CpuGrads.globalAvgPoolBackward(dIn, g);
        for (int i = 0; i < dIn.size(); i++) {
            assertEquals(g.data()[i / 20] / 20f, dIn.data()[i]);
        }
        Tensor acc = dy.copy();
        CpuGrads.accumulate(acc, dx);
        for (int i = 0; i < acc.size(); i++) {
            assertEquals(dy.data()[i] + dx.data()[i], acc.data()[i]);
        }
    }

    @Test
    void inferenceBatchNormBackwardMatchesNaiveLoops() {
        int n = 2, c = 3, hw = 10;
        Tensor x = Naive.random(60, n, c, 2, 5), gamma = Naive.random(61, c), mean = Naive.random(62, c);
        Tensor var = Tensor.zeros(c);
        for (int i = 0; i < c; i++) {
            var.data()[i] = 0.3f + i;
        }
        Tensor dy = Naive.random(63, n, c, 2, 5);
        Tensor dx = Tensor.zeros(x.shape()), dg = Tensor.zeros(c), db = Tensor.zeros(c);
        CpuGrads.batchNormBackward(dx, dg, db, dy, x, gamma, mean, var, 1e-5f);
        double[] dxRef = new double[x.size()], dgRef = new double[c], dbRef = new double[c];
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                double inv = 1 / Math.sqrt(var.data()[ch] + 1e-5);
                for (int i = 0; i < hw; i++) {
                    int j = (b * c + ch) * hw + i;
                    dxRef[j] = dy.data()[j] * gamma.data()[ch] * inv;
                    dgRef[ch] += dy.data()[j] * (x.data()[j] - mean.data()[ch]) * inv;
                    dbRef[ch] += dy.data()[j];
                }
            }
        }
        assertClose("dIn", dxRef, dx.data(), 1e-6);
        assertClose("dGamma", dgRef, dg.data(), 1e-6);
        assertClose("dBeta", dbRef, db.data(), 1e-6);
    }

    @Test
    void shapeErrorsNameTheOperand() {
        Tensor dy = Tensor.zeros(2, 4, 5, 5);
        var e = assertThrows(IllegalArgumentException.class, () ->
                CpuGrads.conv2dBackwardData(Tensor.zeros(2, 3, 5, 5), dy, Tensor.zeros(4, 2, 3, 3), 1, 1, 1));
        assertTrue(e.getMessage().contains("conv2dBackwardData weight") && e.getMessage().contains("[4, 2, 3, 3]"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () ->
                CpuGrads.conv2dBackwardFilter(Tensor.zeros(4, 3, 3, 3), Tensor.zeros(2, 4, 4, 4), Tensor.zeros(2, 3, 5, 5), 1, 1,
                        1));
        assertTrue(e.getMessage().contains("conv2dBackwardFilter dOut"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () ->
                CpuGrads.linearBackward(null, Tensor.zeros(3, 4), null, Tensor.zeros(2, 5), Tensor.zeros(2, 4), Tensor.zeros(3, 4)));
        assertTrue(e.getMessage().contains("linearBackward dOut"), e.getMessage());
    }

    /** Relative to the largest reference magnitude (at least 1), so cancellation near 0 is not over-weighted. */
    static void assertClose(String what, double[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what);
        double scale = 1;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]) / scale;
            assertTrue(err <= tol, what + "[" + i + "]: expected " + expected[i] + ", found " + actual[i] + " (error " + err + ")");
        }
    }

    /** The forward max pool (3, stride 2, pad 1) whose output maxPoolBackward takes. */
    private static Tensor pooled(Tensor x) {
        Tensor y = Tensor.zeros(x.dim(0), x.dim(1), (x.dim(2) - 1) / 2 + 1, (x.dim(3) - 1) / 2 + 1);
        CpuOps.maxPool(y, x, 3, 2, 1);
        return y;
    }
}
