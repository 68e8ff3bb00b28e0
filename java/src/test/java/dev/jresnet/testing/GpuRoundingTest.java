package dev.jresnet.testing;

import dev.jresnet.tensor.Half;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The fp16 and TF32 roundings the GPU reference applies. */
class GpuRoundingTest {
    private static final float ULP10 = 0x1p-10f; // a TF32 or fp16 ulp at 1

    @Test
    void halfRoundsToNearestEven() {
        assertEquals(1f, GpuRounding.half(1 + 0x1p-11f), "a tie goes to the even neighbour, 1");
        assertEquals(1 + 2 * ULP10, GpuRounding.half(1 + 3 * 0x1p-11f), "a tie goes to the even neighbour, up");
        assertEquals(1 + ULP10, GpuRounding.half(1 + 0.75f * ULP10));
        assertEquals(Float.POSITIVE_INFINITY, GpuRounding.half(65520f), "past fp16's largest finite value");
        assertEquals(65504f, GpuRounding.half(65519f));
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 10_000; i++) {
            float v = (float) ((r.nextDouble() * 2 - 1) * Math.pow(2, r.nextInt(-20, 15)));
            float h = GpuRounding.half(v);
            assertEquals(h, Half.f16ToFloat(Half.floatToF16(h)), "a rounded value is an fp16");
            assertEquals(Half.floatToF16(v), Half.floatToF16(h), "the engine's conversion of " + v);
        }
    }

    @Test
    void tf32RoundsToNearestWithTiesAwayFromZero() {
        // pytorch/pytorch#53635: 1024.5 * 1 under TF32 gave 1025 (truncation and ties-to-even give 1024)
        assertEquals(1025f, GpuRounding.tf32(1024.5f));
        assertEquals(1024f, GpuRounding.tf32(1024.5f, GpuRounding.Tf32.TRUNCATE));
        assertEquals(1 + ULP10, GpuRounding.tf32(1 + 0x1p-11f), "a tie goes away from zero");
        assertEquals(-(1 + ULP10), GpuRounding.tf32(-(1 + 0x1p-11f)));
        assertEquals(1 + ULP10, GpuRounding.tf32(1 + 0.75f * ULP10));
        assertEquals(1f, GpuRounding.tf32(1 + 0.75f * ULP10, GpuRounding.Tf32.TRUNCATE), "what the MMA reads");
        assertEquals(1f, GpuRounding.tf32(1 + 0.25f * ULP10));
        assertEquals(2f, GpuRounding.tf32(2 - 0x1p-12f), "rounding up carries into the exponent");
        assertEquals(Float.POSITIVE_INFINITY, GpuRounding.tf32(Float.MAX_VALUE), "past TF32's largest finite value");
        assertEquals(Float.intBitsToFloat(0x7f7fe000), GpuRounding.tf32(Float.MAX_VALUE, GpuRounding.Tf32.TRUNCATE));
        assertEquals(Float.NEGATIVE_INFINITY, GpuRounding.tf32(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(GpuRounding.tf32(Float.NaN)));
        assertEquals(0f, GpuRounding.tf32(0f));
    }

    @Test
    void tf32KeepsTenMantissaBitsWithinHalfAnUlp() {
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < 10_000; i++) {
            float v = (float) ((r.nextDouble() * 2 - 1) * Math.pow(2, r.nextInt(-30, 30)));
            float n = GpuRounding.tf32(v), t = GpuRounding.tf32(v, GpuRounding.Tf32.TRUNCATE);
            double ulp = Math.ulp(v) * 8192.0; // 13 dropped bits
            assertEquals(0, Float.floatToRawIntBits(n) & 0x1fff, "low 13 bits of " + n);
            assertEquals(0, Float.floatToRawIntBits(t) & 0x1fff, "low 13 bits of " + t);
            assertTrue(Math.abs((double) n - v) <= ulp / 2, v + " -> " + n);
            assertTrue(Math.abs((double) t - v) < ulp && Math.abs(t) <= Math.abs(v), v + " -> " + t);
        }
    }

    @Test
    void arraysRoundEveryValue() {
        float[] v = {1 + 0x1p-11f, -3.3f, 1024.5f};
        assertArrayEquals(new float[] {1f, GpuRounding.half(-3.3f), 1024f}, GpuRounding.half(v));
        assertArrayEquals(new float[] {1 + ULP10, GpuRounding.tf32(-3.3f), 1025f},
                GpuRounding.tf32(v, GpuRounding.Tf32.NEAREST));
        assertEquals(1 + 0x1p-11f, v[0], "the input is not changed");
    }
}
