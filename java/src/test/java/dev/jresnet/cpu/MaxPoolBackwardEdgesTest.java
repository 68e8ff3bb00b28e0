package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Max pooling forward and backward at windows other than ResNet's 3/2/1 (kernel 1, no padding, padding of half the
 * window, a window as large as the padded input), with ties, NaN and windows of -infinity only, against the rule
 * written out here: the first maximum in scan order wins, a NaN wins over numbers, and a window of -infinity gives
 * its gradient to its first position (PyTorch's CPU kernel starts its index there).
 */
class MaxPoolBackwardEdgesTest {
    /** in[N, C, H, W] with ties (values on a coarse grid), a NaN, and one plane of -infinity. */
    private static Tensor input(int n, int c, int h, int w) {
        Tensor x = Naive.random(70 + h * w, n, c, h, w);
        float[] d = x.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = Math.round(d[i] * 2) / 2f; // ties are common: the first maximum must win
        }
        d[d.length / 3] = Float.NaN;
        for (int i = 0; i < h * w; i++) {
            d[h * w + i] = Float.NEGATIVE_INFINITY; // plane 1
        }
        return x;
    }

    @ParameterizedTest(name = "{0}x{1} input, kernel {2}, stride {3}, padding {4}")
    @CsvSource({
            "5, 6, 1, 1, 0",
            "5, 6, 2, 2, 0",
            "5, 7, 2, 1, 1",
            "6, 5, 3, 1, 1",
            "7, 7, 3, 3, 0",
            "4, 4, 4, 1, 2",
            "1, 1, 3, 2, 1",
            "3, 3, 3, 1, 0",
    })
    void forwardAndBackwardFollowTheScanRule(int h, int w, int kernel, int stride, int padding) {
        int n = 2, c = 3;
        int p = (h + 2 * padding - kernel) / stride + 1, q = (w + 2 * padding - kernel) / stride + 1;
        Tensor x = input(n, c, h, w);
        Tensor y = Tensor.zeros(n, c, p, q);
        CpuOps.maxPool(y, x, kernel, stride, padding);
        Tensor dy = Naive.random(90, n, c, p, q);
        Tensor dx = Naive.random(91, n, c, h, w); // garbage: dIn is written, not accumulated
        CpuGrads.maxPoolBackward(dx, dy, x, y, kernel, stride, padding);

        float[] xd = x.data();
        float[] want = new float[dx.size()];
        for (int plane = 0; plane < n * c; plane++) {
            for (int op = 0; op < p; op++) {
                for (int oq = 0; oq < q; oq++) {
                    int best = -1;
                    float m = Float.NEGATIVE_INFINITY;
                    for (int ih = op * stride - padding; ih < op * stride - padding + kernel; ih++) {
                        for (int iw = oq * stride - padding; iw < oq * stride - padding + kernel; iw++) {
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) {
                                continue; // padding never wins
                            }
                            int i = plane * h * w + ih * w + iw;
                            if (best < 0) {
                                best = i;
                            }
                            if (xd[i] > m || Float.isNaN(xd[i])) {
                                m = xd[i];
                                best = i;
                            }
                        }
                    }
                    int o = (plane * p + op) * q + oq;
                    assertEquals(m, y.data()[o], "forward at plane " + plane + ", " + op + ", " + oq);
                    want[best] += dy.data()[o];
                }
            }
        }
        assertArrayEquals(want, dx.data());
        assertTrue(Float.isNaN(y.data()[0]) || hasNaN(y.data()), "a NaN window stays NaN");
        assertEquals(Float.NEGATIVE_INFINITY, y.data()[p * q], "plane 1 is all -infinity");
    }

    private static boolean hasNaN(float[] v) {
        for (float x : v) {
            if (Float.isNaN(x)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void windowsOutsideTheirBoundsAreRefusedNamingThem() {
        Tensor x = Tensor.zeros(1, 1, 4, 4);
        String[][] bad = {{"0", "1", "0"}, {"3", "0", "1"}, {"3", "1", "-1"}, {"3", "1", "2"}, {"2", "1", "2"}};
        for (String[] b : bad) {
            int k = Integer.parseInt(b[0]), s = Integer.parseInt(b[1]), pad = Integer.parseInt(b[2]);
            String forward = assertThrows(IllegalArgumentException.class,
                    () -> CpuOps.maxPool(Tensor.zeros(1, 1, 1, 1), x, k, s, pad)).getMessage();
            assertEquals("maxPool: need kernel >= 1, stride >= 1 and 0 <= padding <= kernel/2, found kernel " + k
                    + ", stride " + s + ", padding " + pad, forward);
            String backward = assertThrows(IllegalArgumentException.class, () -> CpuGrads.maxPoolBackward(
                    Tensor.zeros(1, 1, 4, 4), Tensor.zeros(1, 1, 1, 1), x, Tensor.zeros(1, 1, 1, 1), k, s, pad)).getMessage();
            assertEquals(forward.replace("maxPool:", "maxPoolBackward:"), backward);
        }
        Tensor small = Tensor.zeros(1, 1, 2, 5);
        String m = assertThrows(IllegalArgumentException.class,
                () -> CpuOps.maxPool(Tensor.zeros(1, 1, 1, 1), small, 5, 1, 1)).getMessage();
        assertEquals("maxPool: window 5 is larger than the padded input [1, 1, 2, 5] with padding 1", m);
        m = assertThrows(IllegalArgumentException.class, () -> CpuGrads.maxPoolBackward(Tensor.zeros(1, 1, 2, 5),
                Tensor.zeros(1, 1, 1, 1), small, Tensor.zeros(1, 1, 1, 1), 5, 1, 1)).getMessage();
        assertEquals("maxPoolBackward: window 5 is larger than the padded input [1, 1, 2, 5] with padding 1", m);
        Tensor narrow = Tensor.zeros(1, 1, 5, 2);
        assertThrows(IllegalArgumentException.class, () -> CpuOps.maxPool(Tensor.zeros(1, 1, 1, 1), narrow, 5, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> CpuGrads.maxPoolBackward(Tensor.zeros(1, 1, 5, 2),
                Tensor.zeros(1, 1, 1, 1), narrow, Tensor.zeros(1, 1, 1, 1), 5, 1, 1));
    }

    @Test
    void shapesOfEveryOperandAreChecked() {
        Tensor x = Tensor.zeros(1, 2, 4, 4);
        Tensor y = Tensor.zeros(1, 2, 2, 2);
        assertEquals("maxPool input: expected rank 4 [N,C,H,W], found [2, 4, 4]", assertThrows(IllegalArgumentException.class,
                () -> CpuOps.maxPool(y, Tensor.zeros(2, 4, 4), 3, 2, 1)).getMessage());
        assertEquals("maxPoolBackward input: expected rank 4 [N,C,H,W], found [2, 4, 4]",
                assertThrows(IllegalArgumentException.class, () -> CpuGrads.maxPoolBackward(Tensor.zeros(2, 4, 4), y,
                        Tensor.zeros(2, 4, 4), y, 3, 2, 1)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CpuGrads.maxPoolBackward(x, Tensor.zeros(1, 2, 3, 2),
                x, y, 3, 2, 1)).getMessage().startsWith("maxPoolBackward dOut"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CpuGrads.maxPoolBackward(x, y, x,
                Tensor.zeros(1, 2, 2, 3), 3, 2, 1)).getMessage().startsWith("maxPoolBackward out"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CpuGrads.maxPoolBackward(Tensor.zeros(1, 2, 4, 5), y,
                x, y, 3, 2, 1)).getMessage().startsWith("maxPoolBackward dIn"));
    }
}
