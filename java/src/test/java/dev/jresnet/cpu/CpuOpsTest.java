package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuOpsTest {

    /** n, c, h, w, k, r, s, stride, pad, bias: ResNet-50's convs on small images, plus odd ones. */
    @ParameterizedTest(name = "in [{0},{1},{2},{3}] weight [{4},{1},{5},{6}] stride {7} pad {8} bias {9}")
    @CsvSource({
            "1, 3, 32, 32, 64, 7, 7, 2, 3, false",   // stem 7x7/2 pad 3
            "3, 3, 23, 19, 8, 7, 7, 2, 3, true",     // stem on an odd-sized image, batch 3
            "2, 16, 14, 14, 16, 3, 3, 1, 1, false",  // 3x3 stride 1
            "3, 8, 15, 15, 12, 3, 3, 2, 1, true",    // 3x3 stride 2, odd size
            "1, 32, 9, 9, 20, 1, 1, 1, 0, false",    // 1x1 stride 1 (multiplies straight from the input)
            "3, 24, 56, 56, 16, 1, 1, 1, 0, false",  // 1x1 on a large image: chunks inside images
            "2, 24, 13, 13, 40, 1, 1, 2, 0, true",   // 1x1 stride 2 (downsample)
            "3, 64, 7, 7, 70, 3, 3, 1, 1, false",    // layer4-like: chunks spanning several images
            "8, 16, 7, 7, 33, 1, 1, 1, 0, true",     // 1x1 on 7x7 at batch 8
            "1, 5, 6, 11, 7, 2, 3, 3, 2, true",      // rectangular kernel, stride 3
            "2, 2, 1, 1, 3, 3, 3, 1, 1, false",      // 1x1 image, padding only
    })
    void conv2dMatchesNaive(int n, int c, int h, int w, int k, int r, int s, int stride, int pad, boolean withBias) {
        Tensor in = Naive.random(11, n, c, h, w);
        Tensor weight = Naive.random(12, k, c, r, s);
        Tensor bias = withBias ? Naive.random(13, k) : null;
        Tensor want = Naive.conv2d(in, weight, bias, stride, pad);
        assertTrue(Naive.hasNonZero(want.data()));
        Tensor got = Tensor.zeros(want.shape());
        CpuOps.conv2d(got, in, weight, bias, stride, pad);
        assertClose("conv2d " + Gemm.kernelName(), got, want, 1e-5);
        // The same decomposition on the reference kernel.
        Tensor plain = Tensor.zeros(want.shape());
        Conv2d.run(new PlainGemm(), plain.data(), in.data(), weight.data(), withBias ? bias.data() : null,
                n, c, h, w, k, r, s, want.dim(2), want.dim(3), stride, pad);
        assertClose("conv2d plain", plain, want, 1e-5);
    }

    @ParameterizedTest(name = "N={0} C={1} {2}x{3} K={4} {5}x{5} stride {6} pad {7} groups {8}")
    @CsvSource({
            "2, 32, 14, 14, 32, 3, 1, 1, 32",    // depthwise-like: one channel per group
            "3, 64, 9, 9, 64, 3, 2, 1, 32",      // ResNeXt's 32 groups, stride 2
            "1, 12, 8, 8, 18, 3, 1, 1, 3",       // more outputs than inputs per group
            "2, 8, 7, 7, 4, 1, 1, 0, 2",         // grouped 1x1
    })
    void groupedConv2dMatchesNaive(int n, int c, int h, int w, int k, int r, int stride, int pad, int groups) {
        Tensor in = Naive.random(14, n, c, h, w);
        Tensor weight = Naive.random(15, k, c / groups, r, r);
        Tensor bias = Naive.random(16, k);
        Tensor want = Naive.conv2d(in, weight, bias, stride, pad, groups);
        assertTrue(Naive.hasNonZero(want.data()));
        Tensor got = Tensor.zeros(want.shape());
        CpuOps.conv2d(got, in, weight, bias, stride, pad, groups);
        assertClose("grouped conv2d " + Gemm.kernelName(), got, want, 1e-5);
        expectMessage(() -> CpuOps.conv2d(Tensor.zeros(want.shape()), in, weight, bias, stride, pad, groups + 1),
                "groups");
    }

    @Test
    void conv2dRejectsMismatchedShapes() {
        Tensor in = Tensor.zeros(2, 3, 8, 8);
        expectMessage(() -> CpuOps.conv2d(Tensor.zeros(2, 4, 8, 8), in, Tensor.zeros(4, 5, 3, 3), null, 1, 1),
                "conv2d weight", "[4, 5, 3, 3]", "C/groups=3");
        expectMessage(() -> CpuOps.conv2d(Tensor.zeros(2, 4, 8, 8), in, Tensor.zeros(4, 3, 3, 3), null, 2, 1),
                "conv2d output", "[2, 4, 4, 4]", "[2, 4, 8, 8]");
        expectMessage(() -> CpuOps.conv2d(Tensor.zeros(2, 4, 8, 8), in, Tensor.zeros(4, 3, 3, 3), Tensor.zeros(3), 1, 1),
                "conv2d bias", "[4]", "[3]");
        expectMessage(() -> CpuOps.conv2d(Tensor.zeros(2, 4, 8, 8), Tensor.zeros(3, 8, 8), Tensor.zeros(4, 3, 3, 3), null, 1, 1),
                "conv2d input", "[3, 8, 8]");
        expectMessage(() -> CpuOps.conv2d(Tensor.zeros(2, 4, 8, 8), in, Tensor.zeros(4, 3, 3, 3), null, 0, 1),
                "stride");
        expectMessage(() -> CpuOps.conv2d(in, in, Tensor.zeros(3, 3, 1, 1), null, 1, 0), "share storage");
    }

    @ParameterizedTest(name = "relu={0}")
    @CsvSource({"false", "true"})
    void batchNormMatchesFormula(boolean relu) {
        int n = 3, c = 5, h = 7, w = 9;
        Tensor in = Naive.random(21, n, c, h, w);
        Tensor gamma = Naive.random(22, c), beta = Naive.random(23, c), mean = Naive.random(24, c);
        Tensor var = Naive.random(25, c);
        for (int i = 0; i < c; i++) {
            var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        }
        float eps = 1e-5f;
        Tensor want = Tensor.zeros(n, c, h, w);
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < h * w; i++) {
                    int idx = (b * c + ch) * h * w + i;
                    double y = (in.data()[idx] - mean.data()[ch]) / Math.sqrt(var.data()[ch] + (double) eps)
                            * gamma.data()[ch] + beta.data()[ch];
                    want.data()[idx] = (float) (relu ? Math.max(y, 0) : y);
                }
            }
        }
        Tensor got = Tensor.zeros(n, c, h, w);
        CpuOps.batchNorm(got, in, gamma, beta, mean, var, eps, relu);
        assertClose("batchNorm", got, want, 1e-6);
        Tensor inPlace = in.copy();
        CpuOps.batchNorm(inPlace, inPlace, gamma, beta, mean, var, eps, relu);
        assertArrayEquals(got.data(), inPlace.data(), "in-place batch norm differs");
        expectMessage(() -> CpuOps.batchNorm(got, in, Tensor.zeros(4), beta, mean, var, eps, relu),
                "batchNorm gamma", "[5]", "[4]");
        expectMessage(() -> CpuOps.batchNorm(Tensor.zeros(3, 5, 7, 8), in, gamma, beta, mean, var, eps, relu),
                "batchNorm output", "[3, 5, 7, 9]", "[3, 5, 7, 8]");
    }

    @Test
    void reluAndAdd() {
        Tensor a = Naive.random(31, 2, 3, 40, 50), b = Naive.random(32, 2, 3, 40, 50);
        Tensor relu = Tensor.zeros(a.shape());
        CpuOps.relu(relu, a);
        Tensor sum = Tensor.zeros(a.shape()), sumRelu = b.copy();
        CpuOps.add(sum, a, b, false);
        CpuOps.add(sumRelu, a, sumRelu, true); // out aliasing b
        for (int i = 0; i < a.size(); i++) {
            float x = a.data()[i], y = b.data()[i];
            assertEquals(Math.max(x, 0f), relu.data()[i], "relu at " + i);
            assertEquals(x + y, sum.data()[i], "add at " + i);
            assertEquals(Math.max(x + y, 0f), sumRelu.data()[i], "add+relu at " + i);
        }
        expectMessage(() -> CpuOps.add(sum, a, Tensor.zeros(2, 3, 40, 49), false), "add operand b", "[2, 3, 40, 50]",
                "[2, 3, 40, 49]");
        expectMessage(() -> CpuOps.relu(Tensor.zeros(1), a), "relu output");
    }

    /** n, c, h, w, kernel, stride, pad */
    @ParameterizedTest(name = "[{0},{1},{2},{3}] kernel {4} stride {5} pad {6}")
    @CsvSource({
            "2, 3, 16, 16, 3, 2, 1",   // ResNet's stem pool (on 112x112 in the network)
            "1, 4, 15, 13, 3, 2, 1",   // odd sizes
            "3, 2, 9, 9, 2, 2, 0",
            "1, 3, 9, 7, 3, 1, 1",     // 189 windows: enough for every kind
    })
    void maxPoolMatchesNaive(int n, int c, int h, int w, int kernel, int stride, int pad) {
        Tensor in = NaiveMaxPool.input(41, n, c, h, w);
        NaiveMaxPool.requireEveryKindOfWindow(in, kernel, stride, pad);
        int p = (h + 2 * pad - kernel) / stride + 1, q = (w + 2 * pad - kernel) / stride + 1;
        Tensor want = NaiveMaxPool.forward(in, kernel, stride, pad);
        Tensor got = Tensor.zeros(n, c, p, q);
        CpuOps.maxPool(got, in, kernel, stride, pad);
        NaiveMaxPool.assertSame(want, got, "CpuOps.maxPool");
        expectMessage(() -> CpuOps.maxPool(Tensor.zeros(n, c, p + 1, q), in, kernel, stride, pad),
                "maxPool output", "[" + n + ", " + c + ", " + p + ", " + q + "]");
    }

    @Test
    void globalAvgPoolMatchesNaive() {
        Tensor in = Naive.random(51, 3, 6, 7, 7);
        Tensor want = Tensor.zeros(3, 6);
        for (int i = 0; i < 18; i++) {
            double sum = 0;
            for (int j = 0; j < 49; j++) {
                sum += in.data()[i * 49 + j];
            }
            want.data()[i] = (float) (sum / 49);
        }
        Tensor got = Tensor.zeros(3, 6);
        CpuOps.globalAvgPool(got, in);
        assertClose("globalAvgPool", got, want, 1e-6);
        expectMessage(() -> CpuOps.globalAvgPool(Tensor.zeros(3, 5), in), "globalAvgPool output", "[3, 6]", "[3, 5]");
    }

    @ParameterizedTest(name = "n={0} in={1} out={2} bias={3}")
    @CsvSource({"1, 2048, 1000, true", "3, 17, 5, false", "8, 64, 33, true"})
    void linearMatchesNaive(int n, int in, int out, boolean withBias) {
        Tensor x = Naive.random(61, n, in), w = Naive.random(62, out, in);
        Tensor bias = withBias ? Naive.random(63, out) : null;
        Tensor want = Tensor.zeros(n, out);
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < out; o++) {
                double sum = withBias ? bias.data()[o] : 0;
                for (int i = 0; i < in; i++) {
                    sum += (double) x.data()[b * in + i] * w.data()[o * in + i];
                }
                want.data()[b * out + o] = (float) sum;
            }
        }
        Tensor got = Tensor.zeros(n, out);
        CpuOps.linear(got, x, w, bias);
        assertClose("linear", got, want, 1e-5);
        expectMessage(() -> CpuOps.linear(got, x, Tensor.zeros(out, in + 1), bias), "linear weight", "I=" + in);
        expectMessage(() -> CpuOps.linear(Tensor.zeros(n, out + 1), x, w, bias), "linear output");
    }

    @Test
    void softmaxIsStableAndNormalised() {
        Tensor in = Naive.random(71, 3, 1000);
        for (int i = 0; i < 1000; i++) {
            in.data()[2000 + i] += 1000; // would overflow exp without subtracting the max
        }
        Tensor got = Tensor.zeros(3, 1000);
        CpuOps.softmax(got, in);
        for (int row = 0; row < 3; row++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < 1000; j++) {
                max = Math.max(max, in.data()[row * 1000 + j]);
            }
            double[] e = new double[1000];
            for (int j = 0; j < 1000; j++) {
                e[j] = Math.exp(in.data()[row * 1000 + j] - max);
                sum += e[j];
            }
            double total = 0;
            for (int j = 0; j < 1000; j++) {
                float v = got.data()[row * 1000 + j];
                assertTrue(Math.abs(v - e[j] / sum) <= 1e-6 * (e[j] / sum) + 1e-9, "softmax row " + row + " col " + j);
                total += v;
            }
            assertEquals(1.0, total, 1e-5);
        }
        expectMessage(() -> CpuOps.softmax(Tensor.zeros(3, 999), in), "softmax output", "[3, 1000]", "[3, 999]");
    }

    /** Several caller threads at once (e.g. two inference requests): per-thread scratch must not collide. */
    @Test
    void concurrentCallersGetTheirOwnResults() throws Exception {
        List<Tensor> inputs = new ArrayList<>();
        List<Tensor> weights = new ArrayList<>();
        List<Tensor> expected = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Tensor in = Naive.random(80 + t, 2, 8 + t, 11, 11);
            Tensor w = Naive.random(90 + t, 12, 8 + t, 3, 3);
            inputs.add(in);
            weights.add(w);
            expected.add(Naive.conv2d(in, w, null, 1, 1));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                futures.add(pool.submit(() -> {
                    for (int rep = 0; rep < 20; rep++) {
                        Tensor got = Tensor.zeros(expected.get(id).shape());
                        CpuOps.conv2d(got, inputs.get(id), weights.get(id), null, 1, 1);
                        assertClose("conv2d on caller " + id + " rep " + rep, got, expected.get(id), 1e-5);
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    static void assertClose(String what, Tensor got, Tensor want, double relTol) {
        assertEquals(want.shape(), got.shape(), what + " shape");
        Naive.Error e = Naive.error(got.data(), want.data());
        assertTrue(e.relL2() <= relTol, what + ": " + e + " (relative tolerance " + relTol + ")");
    }

    static void expectMessage(Runnable op, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, op::run);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message \"" + e.getMessage() + "\" lacks \"" + f + "\"");
        }
    }
}
