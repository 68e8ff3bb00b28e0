package dev.jresnet.weights;

import dev.jresnet.io.Limits;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link SafetensorsReader} and {@link SafetensorsWriter} at the exact edges of what they accept: a header that ends
 * at the end of the file, data offsets that touch, tensors listed out of data order, a tensor one byte below the
 * array limit; and the numbers each refusal states.
 */
class SafetensorsBoundsTest {
    @TempDir
    Path tmp;

    private Path file(String name, long declaredLength, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(h);
        for (int i = 0; i < dataBytes; i++) {
            b.put((byte) (i * 37 + 11));
        }
        return Files.write(tmp.resolve(name), b.array());
    }

    private Path file(String name, String header, int dataBytes) throws IOException {
        return file(name, header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private static String refusal(Path f) {
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> SafetensorsReader.read(f));
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        return e.getMessage();
    }

    @Test
    void headerMayEndExactlyAtTheEndOfTheFile() throws IOException {
        assertEquals(0, SafetensorsReader.read(file("empty.safetensors", "{}", 0)).entries().size());
        Path over = file("over.safetensors", 3, "{}", 0);
        assertTrue(refusal(over).endsWith("safetensors header length 3 exceeds the 2 bytes after the length field "
                + "(file size 10)"), refusal(over));
        // eight bytes hold a length of 0 and no header: a malformed (empty) header, not a file too short
        Path eight = Files.write(tmp.resolve("eight.safetensors"), new byte[8]);
        assertTrue(refusal(eight).contains("malformed safetensors JSON header: unexpected end of JSON"), refusal(eight));
        Path seven = Files.write(tmp.resolve("seven.safetensors"), new byte[7]);
        assertTrue(refusal(seven).endsWith("7 bytes, shorter than the 8-byte safetensors header length"), refusal(seven));
    }

    @Test
    void valuesAreLittleEndianAndTensorsKeepHeaderOrder() throws IOException {
        // b's data comes first in the file, a's second; the header lists a first
        String h = "{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                + "\"b\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}";
        byte[] hb = h.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + hb.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(hb.length).put(hb);
        b.putShort((short) 0x3c00).putShort((short) 0xc000).putShort((short) 0x3800).putShort((short) 0x7bff);
        b.putInt(-7).putInt(0x01020304);
        Path f = Files.write(tmp.resolve("order.safetensors"), b.array());
        WeightSet ws = SafetensorsReader.read(f);
        assertEquals(java.util.List.of("a", "b"), java.util.List.copyOf(ws.entries().keySet()));
        assertArrayEquals(new long[] {-7, 0x01020304}, ws.entries().get("a").longs());
        assertArrayEquals(new float[] {1f, -2f, 0.5f, 65504f}, ws.entries().get("b").floats().data());
        assertArrayEquals(new int[] {2, 2}, ws.entries().get("b").dims());
    }

    @Test
    void overlapIsFoundWhateverTheHeaderOrder() throws IOException {
        Path f = file("o.safetensors", "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12);
        assertTrue(refusal(f).endsWith("data_offsets of tensor \"b\" [4, 12] overlap those of \"a\" [0, 8]"), refusal(f));
        Path touching = file("t.safetensors", "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16);
        assertEquals(2, SafetensorsReader.read(touching).entries().size());
    }

    @Test
    void offsetRefusalsStateTheirNumbers() throws IOException {
        String at = ": tensor \"w\": data_offsets ";
        Path shifted = file("s.safetensors", "{\"w\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[4,8]}}", 8);
        assertTrue(refusal(shifted).endsWith(at + "[4, 8] span 4 bytes, expected 8 for shape [2, 2] of F16"),
                refusal(shifted));
        Path empty = file("e.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,8]}}", 16);
        assertTrue(refusal(empty).endsWith(at + "[8, 8] span 0 bytes, expected 8 for shape [2] of F32"), refusal(empty));
        Path reversed = file("r.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 16);
        assertTrue(refusal(reversed).endsWith(at + "[8, 0] out of range: the data section holds 16 bytes"),
                refusal(reversed));
        Path three = file("3.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 16);
        assertTrue(refusal(three).endsWith(": tensor \"w\": data_offsets is [0,8,9], expected 2 non-negative integers"),
                refusal(three));
        Path shape = file("x.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 16);
        assertTrue(refusal(shape).endsWith(": tensor \"w\": shape is \"2\", expected a list of non-negative integers"),
                refusal(shape));
    }

    @Test
    void aTensorJustUnderTwoGibibytesIsLeftToTheOffsetCheck() throws IOException {
        // 2^31 - 9 U8 elements (the element limit raised for it) is the largest tensor one Java array holds
        String key = Limits.TENSOR_ELEMENTS.property();
        System.setProperty(key, Long.toString(1L << 31));
        try {
            Path largest = file("l.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[2147483639],\"data_offsets\":[0,"
                    + "2147483639]}}", 0);
            assertTrue(refusal(largest).contains("out of range: the data section holds 0 bytes"), refusal(largest));
            Path over = file("o.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[2147483640],\"data_offsets\":[0,"
                    + "2147483640]}}", 0);
            assertTrue(refusal(over).contains("spans 2147483640 bytes; a tensor may span at most 2 GiB"), refusal(over));
        } finally {
            System.clearProperty(key);
        }
    }

    @Test
    void aFileCutWhileReadingNamesTheBytesItLacks() throws IOException {
        Map<String, WeightSet.Entry> m = new LinkedHashMap<>();
        m.put("big", new WeightSet.Entry("big", DataType.F32, Tensor.zeros(1 << 16), null, new int[] {1 << 16}));
        Path f = tmp.resolve("shrinks.safetensors");
        SafetensorsWriter.write(f, new WeightSet(null, m, Map.of()), DataType.F32, Map.of());
        long start = 8 + ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> SafetensorsReader.read(f, () -> {
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(100);
            } catch (IOException x) {
                throw new UncheckedIOException(x);
            }
        }));
        assertTrue(e.getMessage().endsWith(": tensor \"big\" (bytes " + start + " to " + (start + (4 << 16))
                + ") lies past the end of the file, now 100 bytes: the file changed while it was being read"),
                e.getMessage());
    }

    @Test
    void writerRefusesAZeroDimensionAndAMismatchedCount() {
        Path dest = tmp.resolve("bad.safetensors");
        WeightSet.Entry zero = new WeightSet.Entry("z", DataType.I64, null, new long[0], new int[] {0});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(dest, new WeightSet(null, Map.of("z", zero), Map.of()), DataType.F32, Map.of()));
        assertEquals(dest + ": tensor \"z\": shape [0] has a non-positive dimension", e.getMessage());
        WeightSet.Entry three = new WeightSet.Entry("t", DataType.F32, new Tensor(Shape.of(3), new float[3]), null,
                new int[] {2});
        e = assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(dest, new WeightSet(null, Map.of("t", three), Map.of()), DataType.F32, Map.of()));
        assertEquals(dest + ": tensor \"t\": shape [2] needs 2 values, found 3", e.getMessage());
        assertTrue(Files.notExists(dest));
    }

    @Test
    void writerFlushesLongTensorsAcrossItsBuffer() throws IOException {
        // 20,000 floats then 9,000 longs: both cross the writer's 64 KiB buffer at a value boundary
        float[] v = new float[20_000];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.25f - 7;
        }
        long[] l = new long[9_000];
        for (int i = 0; i < l.length; i++) {
            l[i] = (long) i * 0x100000001L - 5;
        }
        Map<String, WeightSet.Entry> m = new LinkedHashMap<>();
        m.put("f", new WeightSet.Entry("f", DataType.F32, new Tensor(Shape.of(v.length), v), null, new int[] {v.length}));
        m.put("l", new WeightSet.Entry("l", DataType.I64, null, l, new int[] {l.length}));
        Path f = tmp.resolve("long.safetensors");
        SafetensorsWriter.write(f, new WeightSet(null, m, Map.of()), DataType.F32, Map.of());
        WeightSet back = SafetensorsReader.read(f);
        assertArrayEquals(v, back.entries().get("f").floats().data());
        assertArrayEquals(l, back.entries().get("l").longs());
    }
}
