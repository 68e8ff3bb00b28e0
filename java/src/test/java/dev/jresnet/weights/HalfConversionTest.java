package dev.jresnet.weights;

import dev.jresnet.tensor.Half;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** fp16/bf16 conversions of {@link Half}, which the readers widen with and the writer narrows with. */
class HalfConversionTest {
    private static short f16(float f) {
        return Half.floatToF16(f);
    }

    private static void assertF16(int bits, float f) {
        assertEquals(bits, f16(f) & 0xffff, () -> f + " -> 0x" + Integer.toHexString(f16(f) & 0xffff));
    }

    @Test
    void f16EdgeCases() {
        assertF16(0x0000, 0f);
        assertF16(0x8000, -0f);
        assertF16(0x3c00, 1f);
        assertF16(0x7bff, 65504f); // largest finite
        assertF16(0x7bff, 65519.99f); // still rounds down
        assertF16(0x7c00, 65520f); // tie between 65504 and "65536": to even, which is infinity
        assertF16(0x7c00, Float.POSITIVE_INFINITY);
        assertF16(0xfc00, -1e10f);
        assertF16(0x0001, 0x1p-24f); // smallest subnormal
        assertF16(0x0000, 0x1p-25f); // tie with zero: to even
        assertF16(0x0001, Math.nextUp(0x1p-25f));
        assertF16(0x0002, 0x1.4p-23f); // 2.5 subnormal ulps: tie, to even (down)
        assertF16(0x0004, 0x1.cp-23f); // 3.5 subnormal ulps: tie, to even (up)
        assertF16(0x0003, 0x1.8p-23f);
        assertF16(0x03ff, 0x1.ff8p-15f); // largest subnormal
        assertF16(0x0400, 0x1p-14f); // smallest normal
        assertF16(0x0400, 0x1.ffcp-15f); // subnormal rounding up into the normals
        assertF16(0x3c00, 1f + 0x1p-11f); // tie, to even (down)
        assertF16(0x3c02, 1f + 3 * 0x1p-11f); // tie, to even (up)
        assertF16(0x0000, Float.MIN_VALUE);
        assertTrue(Float.isNaN(Half.f16ToFloat(f16(Float.NaN))));
        assertEquals(0x7c00, f16(Float.NaN) & 0x7c00);
        assertTrue((f16(Float.intBitsToFloat(0x7f800001)) & 0x3ff) != 0, "a signalling NaN with a low payload stays NaN");

        assertEquals(0x1p-24f, Half.f16ToFloat((short) 0x0001));
        assertEquals(-0x1.ff8p-15f, Half.f16ToFloat((short) 0x83ff));
        assertEquals(65504f, Half.f16ToFloat((short) 0x7bff));
        assertEquals(Float.NEGATIVE_INFINITY, Half.f16ToFloat((short) 0xfc00));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Half.f16ToFloat((short) 0x8000)));
        assertTrue(Float.isNaN(Half.f16ToFloat((short) 0x7e00)));
    }

    @Test
    void f16RoundTripsEveryHalf() {
        for (int h = 0; h < 65536; h++) {
            float f = Half.f16ToFloat((short) h);
            if (!Float.isNaN(f)) {
                assertEquals(h, f16(f) & 0xffff, "0x" + Integer.toHexString(h));
            }
        }
    }

    @Test
    void bf16EdgeCases() {
        assertEquals(0x3f80, Half.floatToBf16(1f) & 0xffff);
        assertEquals(0x3f80, Half.floatToBf16(Float.intBitsToFloat(0x3f808000)) & 0xffff); // tie to even (down)
        assertEquals(0x3f82, Half.floatToBf16(Float.intBitsToFloat(0x3f818000)) & 0xffff); // tie to even (up)
        assertEquals(0x3f81, Half.floatToBf16(Float.intBitsToFloat(0x3f808001)) & 0xffff);
        assertEquals(0x7f80, Half.floatToBf16(Float.MAX_VALUE) & 0xffff); // rounds up to infinity
        assertEquals(0xff80, Half.floatToBf16(Float.NEGATIVE_INFINITY) & 0xffff);
        assertEquals(0x0001, Half.floatToBf16(Float.intBitsToFloat(0x00010000)) & 0xffff); // subnormal kept
        assertEquals(0x8000, Half.floatToBf16(-0f) & 0xffff);
        assertTrue(Float.isNaN(Half.bf16ToFloat(Half.floatToBf16(Float.intBitsToFloat(0x7f800001)))));
        assertTrue(Float.isNaN(Half.bf16ToFloat(Half.floatToBf16(Float.intBitsToFloat(0xffc00000)))));
        for (int b = 0; b < 65536; b++) {
            float f = Half.bf16ToFloat((short) b);
            if (!Float.isNaN(f)) {
                assertEquals(b, Half.floatToBf16(f) & 0xffff);
            }
        }
    }

    @Test
    void agreesWithTorch() throws IOException {
        Path dir = Fixtures.torchFixtures();
        ByteBuffer all = le(dir.resolve("half_f16_all.bin"));
        for (int h = 0; h < 65536; h++) {
            float want = all.getFloat(4 * h);
            float got = Half.f16ToFloat((short) h);
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(got), "0x" + Integer.toHexString(h));
            } else {
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), "0x" + Integer.toHexString(h));
            }
        }
        ByteBuffer in = le(dir.resolve("half_in.bin"));
        ByteBuffer toF16 = le(dir.resolve("half_to_f16.bin"));
        ByteBuffer toBf16 = le(dir.resolve("half_to_bf16.bin"));
        int n = in.capacity() / 4;
        assertTrue(n > 100_000, "fixture too small: " + n);
        for (int i = 0; i < n; i++) {
            float f = Float.intBitsToFloat(in.getInt(4 * i));
            int i0 = i;
            assertEquals(toF16.getShort(2 * i), Half.floatToF16(f), () -> "f16 of " + f + " (#" + i0 + ")");
            assertEquals(toBf16.getShort(2 * i), Half.floatToBf16(f), () -> "bf16 of " + f + " (#" + i0 + ")");
        }
    }

    private static ByteBuffer le(Path p) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
    }
}
