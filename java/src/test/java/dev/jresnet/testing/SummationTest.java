package dev.jresnet.testing;

import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Every accumulation order computes the convolution; the tensor-core one rounds toward zero. */
class SummationTest {

    /** Naive loops in double: out[n][k][y][x] = sum over c in k's group, ky, kx. */
    static Tensor naive(Tensor in, Tensor w, int stride, int pad, int groups) {
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), wd = in.dim(3), k = w.dim(0), r = w.dim(2), s = w.dim(3);
        int cg = c / groups, kg = k / groups, p = (h + 2 * pad - r) / stride + 1, q = (wd + 2 * pad - s) / stride + 1;
        Tensor out = Tensor.zeros(n, k, p, q);
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < k; o++) {
                int g = o / kg;
                for (int y = 0; y < p; y++) {
                    for (int x = 0; x < q; x++) {
                        double sum = 0;
                        for (int ch = 0; ch < cg; ch++) {
                            for (int ky = 0; ky < r; ky++) {
                                for (int kx = 0; kx < s; kx++) {
                                    int iy = y * stride - pad + ky, ix = x * stride - pad + kx;
                                    if (iy >= 0 && iy < h && ix >= 0 && ix < wd) {
                                        sum += (double) in.data()[((b * c + g * cg + ch) * h + iy) * wd + ix]
                                                * w.data()[((o * cg + ch) * r + ky) * s + kx];
                                    }
                                }
                            }
                        }
                        out.data()[((b * k + o) * p + y) * q + x] = (float) sum;
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(Summation.class)
    void convolvesLikeNaiveLoops(Summation s) {
        SplittableRandom r = new SplittableRandom(4);
        int[][] cases = { // n, c, h, k, r, stride, pad, groups
                {2, 3, 11, 8, 7, 2, 3, 1}, {1, 16, 6, 12, 3, 1, 1, 1}, {2, 12, 7, 8, 3, 2, 1, 4}, {1, 24, 5, 16, 1, 1, 0, 1}};
        for (int[] cc : cases) {
            Tensor x = TestNets.random(r, 1, cc[0], cc[1], cc[2], cc[2]);
            Tensor w = TestNets.random(r, 0.3, cc[3], cc[1] / cc[7], cc[4], cc[4]);
            Tensor want = naive(x, w, cc[5], cc[6], cc[7]);
            Tensor got = s.conv2d(x, w, cc[5], cc[6], cc[7]);
            assertEquals(want.shape(), got.shape());
            double err = TestNets.relL2(got.data(), want.data());
            // measured 0 (EXACT) to 1.2e-7 (TENSOR_CORE): fp32 sums in another order
            assertTrue(err < 1e-6, s + " " + java.util.Arrays.toString(cc) + ": relative L2 " + err);
        }
        Tensor in = TestNets.random(r, 1, 3, 40), wt = TestNets.random(r, 1, 5, 40);
        Tensor lin = s.linear(in, wt);
        assertEquals(dev.jresnet.tensor.Shape.of(3, 5), lin.shape());
        assertTrue(TestNets.relL2(lin.data(), naive(in.reshape(3, 40, 1, 1), wt.reshape(5, 40, 1, 1), 1, 0, 1)
                .data()) < 1e-6, s + " linear");
    }

    @Test
    void tensorCoreStepsRoundTowardZero() {
        // one step of 2 products: 1 + 0.75 ulp(1); the exact sum rounds to 1 + ulp, the tensor-core step to 1
        Tensor x = new Tensor(dev.jresnet.tensor.Shape.of(1, 2, 1, 1), new float[] {1f, 0.75f * 0x1p-23f});
        Tensor w = new Tensor(dev.jresnet.tensor.Shape.of(2, 2, 1, 1), new float[] {1f, 1f, -1f, -1f});
        assertArrayEquals(new float[] {1 + 0x1p-23f, -(1 + 0x1p-23f)}, Summation.EXACT.conv2d(x, w, 1, 0, 1).data());
        assertArrayEquals(new float[] {1f, -1f}, Summation.TENSOR_CORE.conv2d(x, w, 1, 0, 1).data());
        assertEquals(1f, Summation.towardZero(1 + 0.99 * 0x1p-23));
        assertEquals(-1f, Summation.towardZero(-1 - 0.99 * 0x1p-23));
        assertEquals(0.5f, Summation.towardZero(0.5));
        assertEquals(Float.MAX_VALUE, Summation.towardZero(1e39));
    }

    @Test
    void tensorCoreAddsInBlocksOfEight() {
        // 9 products: 1, then eight of 0.6 ulp(1). Exact: 1 + 4.8 ulp -> 1 + 5 ulp. In blocks: the first block adds
        // 1 + 7 * 0.6 ulp = 1 + 4.2 ulp, truncated to 1 + 4 ulp; the second adds 0.6 ulp, truncated away.
        float[] xs = new float[9];
        float[] ws = new float[9];
        xs[0] = 1f;
        for (int i = 1; i < 9; i++) {
            xs[i] = 0.6f * 0x1p-23f;
        }
        java.util.Arrays.fill(ws, 1f);
        Tensor x = new Tensor(dev.jresnet.tensor.Shape.of(1, 9, 1, 1), xs);
        Tensor w = new Tensor(dev.jresnet.tensor.Shape.of(1, 9, 1, 1), ws);
        assertEquals(1 + 5 * 0x1p-23f, Summation.EXACT.conv2d(x, w, 1, 0, 1).data()[0]);
        assertEquals(1 + 4 * 0x1p-23f, Summation.TENSOR_CORE.conv2d(x, w, 1, 0, 1).data()[0]);
    }
}
