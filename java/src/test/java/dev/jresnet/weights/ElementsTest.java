package dev.jresnet.weights;

import dev.jresnet.io.Limits;
import dev.jresnet.tensor.DataType;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** {@link Elements}: the shape checks at their exact bounds, the shape text, and every dtype's decoding. */
class ElementsTest {
    @Test
    void dimensionsUpToIntMaxAreLeftToTheElementLimit() {
        assertNull(Elements.checkDims(new long[] {3, 1, 7}));
        assertEquals("shape [2147483647] elements: 2147483647 exceeds the limit of 268435456",
                Elements.checkDims(new long[] {Integer.MAX_VALUE}).replaceFirst(" \\(.*", ""));
        assertEquals("shape [2147483648] has a dimension out of range", Elements.checkDims(new long[] {1L << 31}));
        assertEquals("shape [2, 0] has a zero dimension (empty tensors are not supported)",
                Elements.checkDims(new long[] {2, 0}));
        assertEquals("shape [-1] has a dimension out of range", Elements.checkDims(new long[] {-1}));
        String key = Limits.TENSOR_ELEMENTS.property();
        System.setProperty(key, Long.toString(1L << 40));
        try {
            assertNull(Elements.checkDims(new long[] {Integer.MAX_VALUE}), "one array's worth, the limit raised");
            assertEquals("shape [65536, 32768] elements: 2147483648 exceeds the limit of 1099511627776",
                    Elements.checkDims(new long[] {1 << 16, 1 << 15}).replaceFirst(" \\(.*", ""));
            // the product saturates instead of wrapping to a small number
            assertEquals("shape [2147483647, 2147483647, 2147483647] elements: 9223372036854775807 exceeds the limit of "
                    + "1099511627776", Elements.checkDims(new long[] {Integer.MAX_VALUE, Integer.MAX_VALUE,
                    Integer.MAX_VALUE}).replaceFirst(" \\(.*", ""));
        } finally {
            System.clearProperty(key);
        }
    }

    @Test
    void shapeTextIsCutAfterEightDimensions() {
        assertEquals("[1, 2, 3, 4, 5, 6, 7, 8]", Elements.text(new long[] {1, 2, 3, 4, 5, 6, 7, 8}));
        assertEquals("[1, 2, 3, 4, 5, 6, 7, 8, ... (rank 9)]", Elements.text(new long[] {1, 2, 3, 4, 5, 6, 7, 8, 9}));
        assertEquals("[]", Elements.text(new long[0]));
    }

    @Test
    void everyDtypeIsReadLittleEndian() {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.putDouble(0, -2.5).putLong(8, -3).putInt(16, 0x7f000001).put(20, (byte) 200)
                .putShort(22, (short) 0x3c00).putShort(24, (short) 0x3f80).putFloat(28, 1.25f);
        assertArrayEquals(new float[] {-2.5f}, Elements.gather("d", DataType.F64, new long[] {1}, b, 0, new long[] {1})
                .floats().data());
        assertArrayEquals(new long[] {-3}, Elements.gather("l", DataType.I64, new long[] {1}, b, 8, new long[] {1}).longs());
        assertArrayEquals(new long[] {0x7f000001}, Elements.gather("i", DataType.I32, new long[] {1}, b, 16,
                new long[] {1}).longs());
        assertArrayEquals(new long[] {200}, Elements.gather("u", DataType.U8, new long[] {1}, b, 20, new long[] {1}).longs());
        assertArrayEquals(new float[] {1f}, Elements.gather("h", DataType.F16, new long[] {1}, b, 22, new long[] {1})
                .floats().data());
        assertArrayEquals(new float[] {1f}, Elements.gather("bf", DataType.BF16, new long[] {1}, b, 24, new long[] {1})
                .floats().data());
        assertArrayEquals(new float[] {1.25f}, Elements.gather("f", DataType.F32, new long[] {1}, b, 28, new long[] {1})
                .floats().data());
    }
}
