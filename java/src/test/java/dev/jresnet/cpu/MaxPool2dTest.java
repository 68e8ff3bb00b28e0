package dev.jresnet.cpu;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MaxPool2dTest {
    /**
     * Bits compared as ints (-0.0 told from 0.0, infinities exact), NaN where the reference has NaN: the vector code
     * may return a NaN with another payload (seen with 512-bit vectors: the canonical 0x7fc00000).
     */
    private static void assertBitwise(Tensor want, Tensor got, String what) {
        for (int i = 0; i < want.data().length; i++) {
            int a = Float.floatToRawIntBits(want.data()[i]), b = Float.floatToRawIntBits(got.data()[i]);
            boolean same = a == b || (Float.isNaN(want.data()[i]) && Float.isNaN(got.data()[i]));
            if (!same) {
                throw new AssertionError(what + ": element " + i + " is " + got.data()[i] + " (0x"
                        + Integer.toHexString(b) + "), the reference " + want.data()[i] + " (0x"
                        + Integer.toHexString(a) + ")");
            }
        }
    }

    /**
     * Random values with many ties, signed zeros, NaNs (of several payloads), infinities,
     * and all -inf planes: what the scan order decides.
     */
    static Tensor input(int n, int c, int h, int w, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * c * h * w];
        for (int i = 0; i < x.length; i++) {
            int kind = r.nextInt(100);
            x[i] = kind < 3 ? Float.intBitsToFloat(0x7fc00000 | r.nextInt(1 << 22))   // NaN, payload varies
                    : kind < 6 ? Float.NEGATIVE_INFINITY
                    : kind < 8 ? Float.POSITIVE_INFINITY
                    : kind < 30 ? (r.nextBoolean() ? 0f : -0f)
                    : kind < 40 ? -1f
                    : (float) r.nextGaussian();
        }
        if (x.length >= h * w) {
            java.util.Arrays.fill(x, 0, h * w, Float.NEGATIVE_INFINITY);  // a whole plane of -inf
        }
        return new Tensor(Shape.of(n, c, h, w), x);
    }

    @ParameterizedTest(name = "[{0},{1},{2},{3}] k{4} s{5} p{6}")
    @CsvSource({
            "1, 64, 112, 112, 3, 2, 1",  // ResNet's stem pool at 224x224
            "2, 3, 40, 40, 3, 2, 1",
            "1, 5, 33, 37, 3, 2, 1",     // odd sizes: the last window clipped on the right
            "1, 4, 17, 17, 3, 2, 1",     // too narrow for a vector block: scalar rows
            "1, 4, 18, 19, 3, 2, 1",     // exactly one vector block
            "2, 3, 9, 50, 3, 2, 1",
            "1, 3, 13, 29, 2, 2, 0",     // other windows: the scalar horizontal pass
            "1, 3, 12, 21, 3, 1, 1",
            "1, 3, 11, 11, 5, 3, 2",
    })
    void equalsTheReferenceBitForBit(int n, int c, int h, int w, int k, int s, int p) {
        Tensor x = input(n, c, h, w, 31L * h + w);
        int ph = (h + 2 * p - k) / s + 1, pw = (w + 2 * p - k) / s + 1;
        Tensor want = Tensor.zeros(n, c, ph, pw);
        CpuOps.maxPool(want, x, k, s, p);
        Tensor got = new Tensor(Shape.of(n, c, ph, pw), new float[n * c * ph * pw]);
        java.util.Arrays.fill(got.data(), 42f);  // a dirty output: every element must be written
        MaxPool2d.forward(got, x, k, s, p);
        assertBitwise(want, got, "MaxPool2d (" + (MaxPool2d.vectorised() ? "vector" : "scalar") + ")");
        Tensor vec = Tensor.zeros(n, c, ph, pw);
        MaxPool2d.forward(new VectorMaxPool(), vec, x, k, s, p);
        assertBitwise(want, vec, "VectorMaxPool");
    }

    /**
     * Each implementation against PyTorch's definition on ordinary mixed-sign activations with NaNs: a rule that all
     * of them share (a start at 0 rather than -inf, NaN not propagated) passes the bitwise comparisons above.
     */
    @ParameterizedTest(name = "[{0},{1},{2},{3}] k{4} s{5} p{6}")
    @CsvSource({
            "1, 8, 112, 112, 3, 2, 1",   // the stem pool: the vector row pass
            "2, 3, 17, 23, 3, 2, 1",     // scalar edges, a clipped last window
            "1, 4, 13, 29, 2, 2, 0",     // the scalar horizontal pass
            "1, 3, 12, 21, 3, 1, 1",
    })
    void everyImplementationPropagatesNanAndNeverReturnsPadding(int n, int c, int h, int w, int k, int s, int p) {
        Tensor x = NaiveMaxPool.input(7L * h + w, n, c, h, w);
        NaiveMaxPool.requireEveryKindOfWindow(x, k, s, p);
        Tensor want = NaiveMaxPool.forward(x, k, s, p);
        Tensor reference = Tensor.zeros(want.shape()), active = Tensor.zeros(want.shape());
        Tensor vector = Tensor.zeros(want.shape()), scalar = Tensor.zeros(want.shape());
        CpuOps.maxPool(reference, x, k, s, p);
        NaiveMaxPool.assertSame(want, reference, "CpuOps.maxPool");
        MaxPool2d.forward(active, x, k, s, p);
        NaiveMaxPool.assertSame(want, active, "MaxPool2d (" + (MaxPool2d.vectorised() ? "vector" : "scalar") + ")");
        MaxPool2d.forward(new VectorMaxPool(), vector, x, k, s, p);
        NaiveMaxPool.assertSame(want, vector, "VectorMaxPool");
        MaxPool2d.forward(null, scalar, x, k, s, p);
        NaiveMaxPool.assertSame(want, scalar, "MaxPool2d without a vector kernel");
    }

    @ParameterizedTest
    @CsvSource({"0.0, -0.0", "-0.0, 0.0"})
    void theFirstOfEqualZerosWinsInRowMajorOrder(float first, float second) {
        // [0,1] holds `first`, [1,0] `second`, the rest is negative: row-major order reaches [0,1] first.
        float[] x = new float[20 * 20];
        java.util.Arrays.fill(x, -1f);
        x[1] = first;
        x[20] = second;
        Tensor in = new Tensor(Shape.of(1, 1, 20, 20), x);
        Tensor want = Tensor.zeros(1, 1, 10, 10), got = Tensor.zeros(1, 1, 10, 10);
        CpuOps.maxPool(want, in, 3, 2, 1);
        MaxPool2d.forward(new VectorMaxPool(), got, in, 3, 2, 1);
        assertEquals(Float.floatToRawIntBits(first), Float.floatToRawIntBits(want.data()[0]));
        assertBitwise(want, got, "signed zeros");
        assertTrue(MaxPool2d.vectorised() || !Gemm.kernelName().startsWith("vector"));
    }
}
