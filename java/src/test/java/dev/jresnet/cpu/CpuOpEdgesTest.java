package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reference ops and their backward passes where ResNet's usual shapes do not reach: 1x1 convolutions with a stride
 * (the downsample shortcut) or padding, a kernel as large as the padded input, batch norm over [N, C] (no spatial
 * dims), label smoothing at 0 and 1, the fused conv + bias + ReLU; and every operand's shape check, whose message
 * names the op, the operand and the shapes.
 */
class CpuOpEdgesTest {
    /** dIn and dWeight of a convolution by the definition, in double. */
    private static double[][] convBackward(Tensor x, Tensor wt, Tensor dy, int stride, int pad) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), k = wt.dim(0), r = wt.dim(2), s = wt.dim(3);
        int p = dy.dim(2), q = dy.dim(3);
        double[] dx = new double[x.size()], dw = new double[wt.size()];
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < k; o++) {
                for (int op = 0; op < p; op++) {
                    for (int oq = 0; oq < q; oq++) {
                        double g = dy.data()[((b * k + o) * p + op) * q + oq];
                        for (int ch = 0; ch < c; ch++) {
                            for (int kr = 0; kr < r; kr++) {
                                for (int ks = 0; ks < s; ks++) {
                                    int ih = op * stride - pad + kr, iw = oq * stride - pad + ks;
                                    if (ih >= 0 && ih < h && iw >= 0 && iw < w) {
                                        int xi = ((b * c + ch) * h + ih) * w + iw, wi = ((o * c + ch) * r + kr) * s + ks;
                                        dx[xi] += g * wt.data()[wi];
                                        dw[wi] += g * x.data()[xi];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return new double[][] {dx, dw};
    }

    @ParameterizedTest(name = "n {0}, {1}x{1} input, kernel {2}, stride {3}, padding {4}")
    @CsvSource({
            "2, 8, 1, 2, 0",
            "1, 7, 1, 2, 0",
            "2, 5, 1, 1, 1",
            "2, 3, 3, 1, 0",
            "3, 4, 5, 1, 1",
            "1, 6, 2, 3, 0",
    })
    void convolutionBackwardAtUnusualGeometries(int n, int hw, int r, int stride, int pad) {
        int c = 3, k = 4;
        int p = (hw + 2 * pad - r) / stride + 1;
        Tensor x = Naive.random(100, n, c, hw, hw);
        Tensor wt = Naive.random(101, k, c, r, r);
        Tensor dy = Naive.random(102, n, k, p, p);
        double[][] ref = convBackward(x, wt, dy, stride, pad);
        Tensor dx = Naive.random(103, n, c, hw, hw);
        CpuGrads.conv2dBackwardData(dx, dy, wt, stride, pad, 1);
        Tensor dw = Tensor.zeros(k, c, r, r);
        CpuGrads.conv2dBackwardFilter(dw, dy, x, stride, pad, 1);
        CpuGradsTest.assertClose("dIn", ref[0], dx.data(), 1e-5);
        CpuGradsTest.assertClose("dWeight", ref[1], dw.data(), 1e-5);
        // and the forward agrees with the definition at the same geometry
        Tensor y = Tensor.zeros(n, k, p, p);
        CpuOps.conv2d(y, x, wt, null, stride, pad);
        float[] want = Naive.conv2d(x, wt, null, stride, pad).data();
        CpuGradsTest.assertClose("out", toDouble(want), y.data(), 1e-5);
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    @Test
    void convolutionChunksStartingMidRowZeroTheirPadding() {
        // 3 images of 7x7 outputs (147 columns) are cut across the batch, so a chunk starts in the middle of an output
        // row: its right-edge padding must be written as zeros, not left as what the scratch held from earlier calls
        Tensor wt = Naive.random(150, 5, 4, 3, 3);
        for (int round = 0; round < 4; round++) {
            Tensor x = Naive.random(151 + round, 3, 4, 7, 7);
            Tensor y = Tensor.zeros(3, 5, 7, 7);
            CpuOps.conv2d(y, x, wt, null, 1, 1);
            CpuGradsTest.assertClose("round " + round, toDouble(Naive.conv2d(x, wt, null, 1, 1).data()), y.data(), 1e-5);
        }
    }

    @Test
    void fusedConvBiasReluIsTheSeparateOps() {
        Tensor x = Naive.random(110, 2, 3, 6, 6);
        Tensor wt = Naive.random(111, 4, 3, 3, 3);
        Tensor bias = Naive.random(112, 4);
        Tensor res = Naive.random(113, 2, 4, 6, 6);
        Tensor want = Tensor.zeros(2, 4, 6, 6);
        CpuOps.conv2d(want, x, wt, bias, 1, 1);
        Tensor withRes = Tensor.zeros(2, 4, 6, 6);
        CpuOps.add(withRes, want, res, true);
        CpuOps.relu(want, want);
        Tensor got = Naive.random(114, 2, 4, 6, 6);
        CpuOps.conv2dBiasRelu(got, x, wt, bias, null, 1, 1, 1);
        assertArrayEquals(want.data(), got.data());
        CpuOps.conv2dBiasRelu(got, x, wt, bias, res, 1, 1, 1);
        assertArrayEquals(withRes.data(), got.data());
        assertTrue(Naive.hasNonZero(got.data()) && min(got.data()) == 0f, "ReLU applied");
        assertEquals("conv2dBiasRelu: bias must not be null", assertThrows(IllegalArgumentException.class,
                () -> CpuOps.conv2dBiasRelu(got, x, wt, null, res, 1, 1, 1)).getMessage());
    }

    private static float min(float[] v) {
        float m = Float.POSITIVE_INFINITY;
        for (float x : v) {
            m = Math.min(m, x);
        }
        return m;
    }

    @Test
    void batchNormOverChannelsOnly() {
        // [N, C] input (BatchNorm1d after a linear layer): plane of 1
        Tensor x = Naive.random(120, 4, 3);
        Tensor gamma = Naive.random(121, 3), beta = Naive.random(122, 3), mean = Naive.random(123, 3);
        Tensor var = new Tensor(dev.jresnet.tensor.Shape.of(3), new float[] {0.5f, 1f, 2f});
        Tensor y = Tensor.zeros(4, 3);
        CpuOps.batchNorm(y, x, gamma, beta, mean, var, 1e-5f, false);
        for (int i = 0; i < 12; i++) {
            int ch = i % 3;
            double want = (x.data()[i] - mean.data()[ch]) / Math.sqrt(var.data()[ch] + 1e-5) * gamma.data()[ch]
                    + beta.data()[ch];
            assertEquals(want, y.data()[i], 1e-5, "element " + i);
        }
        assertEquals("batchNorm input: expected rank >= 2 [N,C,...], found [3]", assertThrows(
                IllegalArgumentException.class, () -> CpuOps.batchNorm(y, gamma, gamma, beta, mean, var, 1e-5f, false))
                .getMessage());

        // training mode: two values per channel is the least that has a variance
        Tensor two = Naive.random(124, 2, 3);
        Tensor out = Tensor.zeros(2, 3), sm = Tensor.zeros(3), si = Tensor.zeros(3);
        CpuGrads.batchNormTrain(out, sm, si, two, gamma, beta, null, null, 0.1f, 1e-5f);
        for (int ch = 0; ch < 3; ch++) {
            double a = two.data()[ch], b = two.data()[3 + ch];
            assertEquals((a + b) / 2, sm.data()[ch], 1e-6);
            assertEquals(1 / Math.sqrt((a - b) * (a - b) / 4 + 1e-5), si.data()[ch], 1e-3 * si.data()[ch]);
        }
        Tensor one = Naive.random(125, 1, 3);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CpuGrads.batchNormTrain(Tensor.zeros(1, 3), sm, si,
                one, gamma, beta, null, null, 0.1f, 1e-5f)).getMessage().startsWith("batchNormTrain: expected more than 1"));
        assertEquals("batchNormTrain input: expected rank >= 2 [N,C,...], found [3]", assertThrows(
                IllegalArgumentException.class, () -> CpuGrads.batchNormTrain(gamma, sm, si, gamma, gamma, beta, null,
                        null, 0.1f, 1e-5f)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> CpuGrads.batchNormTrain(Tensor.zeros(2, 4), sm, si, two, gamma,
                beta, null, null, 0.1f, 1e-5f), "output shape");
    }

    @Test
    void batchNormBackwardTakesNullForGradientsNotWanted() {
        Tensor x = Naive.random(130, 2, 3, 2, 2), dy = Naive.random(131, 2, 3, 2, 2);
        Tensor gamma = Naive.random(132, 3), mean = Naive.random(133, 3);
        Tensor var = new Tensor(dev.jresnet.tensor.Shape.of(3), new float[] {0.5f, 1f, 2f});
        Tensor dx = Tensor.zeros(2, 3, 2, 2), dg = Tensor.zeros(3), db = Tensor.zeros(3);
        CpuGrads.batchNormBackward(dx, dg, db, dy, x, gamma, mean, var, 1e-5f);
        Tensor dx2 = Tensor.zeros(2, 3, 2, 2), dg2 = Tensor.zeros(3), db2 = Tensor.zeros(3);
        CpuGrads.batchNormBackward(null, dg2, null, dy, x, gamma, mean, var, 1e-5f);
        CpuGrads.batchNormBackward(dx2, null, db2, dy, x, gamma, mean, var, 1e-5f);
        assertArrayEquals(dx.data(), dx2.data());
        assertArrayEquals(dg.data(), dg2.data());
        assertArrayEquals(db.data(), db2.data());
        Tensor sm = Tensor.zeros(3), si = Tensor.zeros(3);
        CpuGrads.batchNormTrain(Tensor.zeros(2, 3, 2, 2), sm, si, x, gamma, gamma, null, null, 0.1f, 1e-5f);
        CpuGrads.batchNormTrainBackward(null, null, null, dy, x, gamma, sm, si);

        String[] names = {"dOut", "dIn", "dGamma", "dBeta"};
        Executable[] bad = {
                () -> CpuGrads.batchNormBackward(dx, dg, db, Tensor.zeros(2, 3, 2, 3), x, gamma, mean, var, 1e-5f),
                () -> CpuGrads.batchNormBackward(Tensor.zeros(2, 3, 4), dg, db, dy, x, gamma, mean, var, 1e-5f),
                () -> CpuGrads.batchNormBackward(dx, Tensor.zeros(4), db, dy, x, gamma, mean, var, 1e-5f),
                () -> CpuGrads.batchNormBackward(dx, dg, Tensor.zeros(2), dy, x, gamma, mean, var, 1e-5f),
        };
        for (int i = 0; i < bad.length; i++) {
            String m = assertThrows(IllegalArgumentException.class, bad[i]).getMessage();
            assertTrue(m.startsWith("batchNorm backward " + names[i] + ": expected shape "), m);
        }
    }

    @Test
    void labelSmoothingFromZeroToOne() {
        Tensor logits = Naive.random(140, 3, 5);
        int[] targets = {0, 4, 2};
        Tensor d = Tensor.zeros(3, 5);
        float plain = CpuGrads.softmaxCrossEntropy(d, logits, targets, 0f);
        float uniform = CpuGrads.softmaxCrossEntropy(d, logits, targets, 1f);
        double wantPlain = 0, wantUniform = 0;
        for (int b = 0; b < 3; b++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < 5; j++) {
                max = Math.max(max, logits.data()[b * 5 + j]);
            }
            for (int j = 0; j < 5; j++) {
                sum += Math.exp(logits.data()[b * 5 + j] - max);
            }
            double lse = max + Math.log(sum);
            wantPlain += lse - logits.data()[b * 5 + targets[b]];
            for (int j = 0; j < 5; j++) {
                wantUniform += (lse - logits.data()[b * 5 + j]) / 5;
            }
        }
        assertEquals(wantPlain / 3, plain, 1e-6);
        assertEquals(wantUniform / 3, uniform, 1e-6);
        for (float bad : new float[] {-0.01f, 1.01f, Float.NaN}) {
            assertThrows(IllegalArgumentException.class, () -> CpuGrads.softmaxCrossEntropy(d, logits, targets, bad));
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CpuGrads.softmaxCrossEntropy(Tensor.zeros(3, 4),
                logits, targets, 0f)).getMessage().startsWith("softmaxCrossEntropy dLogits: expected shape [3, 5]"));
        assertEquals("softmaxCrossEntropy logits: expected rank 2 [N,K], found [15]", assertThrows(
                IllegalArgumentException.class, () -> CpuGrads.softmaxCrossEntropy(null, Tensor.zeros(15), targets, 0f))
                .getMessage());
    }

    @Test
    void everyOperandsShapeIsChecked() {
        Tensor x4 = Tensor.zeros(2, 3, 4, 4), w4 = Tensor.zeros(4, 3, 3, 3), y4 = Tensor.zeros(2, 4, 4, 4);
        Tensor m2 = Tensor.zeros(2, 3), v3 = Tensor.zeros(3);
        Object[][] cases = {
                {"conv2d input: expected rank 4 [N,C,H,W], found [3, 4, 4]",
                        (Executable) () -> CpuOps.conv2d(y4, Tensor.zeros(3, 4, 4), w4, null, 1, 1)},
                {"conv2d weight: expected rank 4 [K,C/groups,R,S], found [4, 27]",
                        (Executable) () -> CpuOps.conv2d(y4, x4, Tensor.zeros(4, 27), null, 1, 1)},
                {"conv2d: 2 groups must divide the 3 input channels and the 4 output channels",
                        (Executable) () -> CpuOps.conv2d(y4, x4, Tensor.zeros(4, 1, 3, 3), null, 1, 1, 2)},
                {"conv2d: kernel 5x5 is larger than the padded input 4x4 (input [2, 3, 2, 2], padding 1)",
                        (Executable) () -> CpuOps.conv2d(y4, Tensor.zeros(2, 3, 2, 2), Tensor.zeros(4, 3, 5, 5), null, 1, 1)},
                {"globalAvgPool input: expected rank 4 [N,C,H,W], found [2, 3]",
                        (Executable) () -> CpuOps.globalAvgPool(m2, m2)},
                {"linear input: expected rank 2 [N,I], found [2, 3, 4, 4]",
                        (Executable) () -> CpuOps.linear(m2, x4, m2, null)},
                {"linear weight: expected rank 2 [O,I], found [3]", (Executable) () -> CpuOps.linear(m2, m2, v3, null)},
                {"add operand b: expected shape [2, 3], found [3]", (Executable) () -> CpuOps.add(m2, m2, v3, false)},
                {"add output: expected shape [2, 3], found [3]", (Executable) () -> CpuOps.add(v3, m2, m2, false)},
                {"softmax input: expected rank 2 [N,K], found [3]", (Executable) () -> CpuOps.softmax(v3, v3)},
                {"linearBackward input: expected rank 2 [N,I], found [3]",
                        (Executable) () -> CpuGrads.linearBackward(null, null, null, m2, v3, m2)},
                {"linearBackward weight: expected rank 2 [O,I], found [3]",
                        (Executable) () -> CpuGrads.linearBackward(null, null, null, m2, m2, v3)},
                {"globalAvgPoolBackward dIn: expected rank 4 [N,C,H,W], found [2, 3]",
                        (Executable) () -> CpuGrads.globalAvgPoolBackward(m2, m2)},
                {"reluBackward dOut: expected shape [2, 3], found [3]",
                        (Executable) () -> CpuGrads.reluBackward(m2, v3, m2)},
                {"reluBackward dIn: expected shape [2, 3], found [3]",
                        (Executable) () -> CpuGrads.reluBackward(v3, m2, m2)},
                {"accumulate grad: expected shape [2, 3], found [3]", (Executable) () -> CpuGrads.accumulate(m2, v3)},
                {"conv2dBackwardData dIn: expected rank 4 [N,C,H,W], found [2, 3]",
                        (Executable) () -> CpuGrads.conv2dBackwardData(m2, y4, w4, 1, 1, 1)},
                {"conv2dBackwardData weight: expected rank 4 [K,C/groups,R,S], found [2, 3]",
                        (Executable) () -> CpuGrads.conv2dBackwardData(x4, y4, m2, 1, 1, 1)},
                {"conv2dBackwardData: 2 groups must divide the 3 input channels and the 4 output channels",
                        (Executable) () -> CpuGrads.conv2dBackwardData(x4, y4, Tensor.zeros(4, 1, 3, 3), 1, 1, 2)},
                {"conv2dBackwardFilter input: expected rank 4 [N,C,H,W], found [2, 3]",
                        (Executable) () -> CpuGrads.conv2dBackwardFilter(w4, y4, m2, 1, 1, 1)},
                {"conv2dBackwardFilter dWeight: expected rank 4 [K,C/groups,R,S], found [2, 3]",
                        (Executable) () -> CpuGrads.conv2dBackwardFilter(m2, y4, x4, 1, 1, 1)},
                {"conv2dBackwardFilter: 2 groups must divide the 3 input channels and the 4 output channels",
                        (Executable) () -> CpuGrads.conv2dBackwardFilter(Tensor.zeros(4, 1, 3, 3), y4, x4, 1, 1, 2)},
                {"conv2dBackwardFilter: kernel 5x5 is larger than the padded input 4x4 (input [2, 3, 2, 2], padding 1)",
                        (Executable) () -> CpuGrads.conv2dBackwardFilter(Tensor.zeros(4, 3, 5, 5), y4, Tensor.zeros(2, 3, 2, 2),
                                1, 1, 1)},
                {"conv2d: kernel 7x7 is larger than the padded input 6x6 (input [2, 3, 2, 2], padding 2)",
                        (Executable) () -> CpuOps.conv2d(y4, Tensor.zeros(2, 3, 2, 2), Tensor.zeros(4, 3, 7, 7), null, 1, 2)},
                {"conv2dBackwardData: kernel 7x7 is larger than the padded input 6x6 (input [2, 3, 2, 2], padding 2)",
                        (Executable) () -> CpuGrads.conv2dBackwardData(Tensor.zeros(2, 3, 2, 2), y4, Tensor.zeros(4, 3, 7, 7),
                                1, 2, 1)},
                {"conv2dBackwardData: kernel 3x5 is larger than the padded input 6x4 (input [2, 3, 4, 2], padding 1)",
                        (Executable) () -> CpuGrads.conv2dBackwardData(Tensor.zeros(2, 3, 4, 2), y4, Tensor.zeros(4, 3, 3, 5),
                                1, 1, 1)},
        };
        for (Object[] c : cases) {
            assertEquals(c[0], assertThrows(IllegalArgumentException.class, (Executable) c[1]).getMessage());
        }
        // the reference GEMM checks A where it is packed, before any multiply reads it
        assertEquals("gemm: A 2x3 at offset 0 with leading dimension 3 needs 6 elements, array has 5",
                assertThrows(IllegalArgumentException.class, () -> new PlainGemm().pack(2, 3, new float[5], 0, 3))
                        .getMessage());
    }
}
