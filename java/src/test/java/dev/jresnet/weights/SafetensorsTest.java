package dev.jresnet.weights;

import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Half;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir
    Path tmp;

    private static WeightSet sample() {
        Random r = new Random(42);
        Map<String, WeightSet.Entry> m = new LinkedHashMap<>();
        float[] w = new float[4 * 3 * 3 * 3];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        w[0] = 1e-6f; // an fp16 subnormal
        w[1] = 70000f; // beyond fp16: infinity there
        w[2] = -0f;
        m.put("conv.weight", new WeightSet.Entry("conv.weight", DataType.F32, new Tensor(Shape.of(4, 3, 3, 3), w), null,
                new int[] {4, 3, 3, 3}));
        m.put("bn.num_batches_tracked", new WeightSet.Entry("bn.num_batches_tracked", DataType.I64, null,
                new long[] {Long.MIN_VALUE + 1}, new int[0]));
        m.put("a.scalar", new WeightSet.Entry("a.scalar", DataType.F32, new Tensor(Shape.of(), new float[] {0.1f}), null,
                new int[0]));
        m.put("ids", new WeightSet.Entry("ids", DataType.I64, null, new long[] {-1, 0, 1L << 40}, new int[] {3}));
        return new WeightSet(null, m, Map.of());
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"F32", "F16", "BF16"})
    void roundTrip(DataType type) throws IOException {
        WeightSet ws = sample();
        Path f = tmp.resolve("w.safetensors");
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("quote\"and\\slash", "ünïcode\n");
        SafetensorsWriter.write(f, ws, type, meta);
        byte[] raw = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8, "header padded to a multiple of 8");
        byte last = raw[(int) (8 + n - 1)];
        assertTrue(last == '}' || last == ' ', "header ends in " + (char) last);

        WeightSet back = WeightSets.read(f);
        assertEquals(meta, back.metadata());
        assertEquals(List.copyOf(ws.entries().keySet()), List.copyOf(back.entries().keySet()));
        for (WeightSet.Entry e : ws.entries().values()) {
            WeightSet.Entry b = back.entries().get(e.name());
            assertArrayEquals(e.dims(), b.dims(), e.name());
            if (e.longs() != null) {
                assertEquals(DataType.I64, b.storedType());
                assertArrayEquals(e.longs(), b.longs(), e.name());
                assertNull(b.floats());
                continue;
            }
            assertEquals(type, b.storedType());
            float[] want = e.floats().data().clone();
            for (int i = 0; i < want.length; i++) {
                want[i] = switch (type) {
                    case F16 -> Half.f16ToFloat(Half.floatToF16(want[i]));
                    case BF16 -> Half.bf16ToFloat(Half.floatToBf16(want[i]));
                    default -> want[i];
                };
            }
            assertArrayEquals(want, b.floats().data(), 0f, e.name());
            assertArrayEquals(e.dims(), b.floats().shape().dims());
        }
        if (type == DataType.F16) {
            assertEquals(Float.POSITIVE_INFINITY, back.entries().get("conv.weight").floats().data()[1]);
        }
        assertEquals(Float.floatToRawIntBits(-0f),
                Float.floatToRawIntBits(back.entries().get("conv.weight").floats().data()[2]));
        assertNoTempFiles();
    }

    @Test
    void writeReplacesAnExistingFile() throws IOException {
        Path f = Files.writeString(tmp.resolve("w.safetensors"), "old");
        SafetensorsWriter.write(f, sample(), DataType.F32, null);
        assertTrue(SafetensorsReader.read(f).metadata().isEmpty());
        assertNoTempFiles();
    }

    @Test
    void readsFileFromAnIndependentPythonWriter() throws IOException {
        Path dir = Fixtures.torchFixtures();
        WeightSet ws = SafetensorsReader.read(dir.resolve("e_py.safetensors"));
        Fixtures.assertMatches(Fixtures.expected(dir, "e_py"), ws);
        assertEquals(Map.of("format", "pt", "note", "written by python"), ws.metadata());
        assertEquals(DataType.F16, ws.entries().get("half").storedType());
        assertEquals(DataType.BF16, ws.entries().get("bhalf").storedType());
        assertEquals(DataType.I64, ws.entries().get("bn.num_batches_tracked").storedType());
        // and what we write from it reads back the same
        Path again = tmp.resolve("again.safetensors");
        SafetensorsWriter.write(again, ws, DataType.F32, ws.metadata());
        Fixtures.assertMatches(Fixtures.expected(dir, "e_py"), SafetensorsReader.read(again));
    }

    @Test
    void pthToSafetensorsKeepsValues() throws IOException {
        Path dir = Fixtures.torchFixtures();
        WeightSet pth = PthReader.read(dir.resolve("c_bf16.pth"));
        Path out = tmp.resolve("c.safetensors");
        SafetensorsWriter.write(out, pth, DataType.BF16, Map.of("source", "c_bf16.pth"));
        Fixtures.assertMatches(Fixtures.expected(dir, "c_bf16"), SafetensorsReader.read(out));
    }

    // ---- bad input ----

    /** A file with the given header text and data bytes. */
    private Path file(String name, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return Files.write(tmp.resolve(name), b.array());
    }

    private WeightFormatException rejects(Path f, String... mustContain) {
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> SafetensorsReader.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        for (String s : mustContain) {
            assertTrue(e.getMessage().contains(s), "\"" + s + "\" missing from: " + e.getMessage());
        }
        return e;
    }

    @Test
    void goodHandMadeHeaderReads() throws IOException {
        Path f = file("ok.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        assertEquals(2, SafetensorsReader.read(f).entries().get("w").floats().size());
    }

    @Test
    void truncatedFileIsRejected() throws IOException {
        SafetensorsWriter.write(tmp.resolve("w.safetensors"), sample(), DataType.F32, Map.of());
        byte[] all = Files.readAllBytes(tmp.resolve("w.safetensors"));
        Path cut = Files.write(tmp.resolve("cut.safetensors"), Arrays.copyOf(all, all.length - 5));
        rejects(cut, "out of range");
        Path tiny = Files.write(tmp.resolve("tiny.safetensors"), new byte[] {1, 2, 3});
        rejects(tiny, "3 bytes");
    }

    @Test
    void headerLongerThanFileIsRejected() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).put("{}".getBytes());
        Path f = Files.write(tmp.resolve("long.safetensors"), b.array());
        rejects(f, "header length 1000", "12 bytes");
        ByteBuffer neg = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(-1);
        rejects(Files.write(tmp.resolve("neg.safetensors"), neg.array()), "18446744073709551615");
    }

    @Test
    void malformedJsonIsRejected() throws IOException {
        rejects(file("a.safetensors", "{\"w\":{\"dtype\":\"F32\",}", 0), "malformed");
        rejects(file("b.safetensors", "{\"w\":1} x", 0), "malformed");
        rejects(file("c.safetensors", "[1,2]", 0), "not a JSON object");
        rejects(file("d.safetensors", "{\"w\":{},\"w\":{}}", 0), "duplicate key \"w\"");
    }

    @Test
    void unknownDtypeIsNamed() throws IOException {
        rejects(file("u.safetensors", "{\"flag\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
                "\"flag\"", "BOOL");
    }

    @Test
    void badOffsetsAreNamed() throws IOException {
        rejects(file("r.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4),
                "\"w\"", "[0, 8]", "holds 4 bytes");
        rejects(file("s.safetensors", "{\"w\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", 8),
                "\"w\"", "span 4 bytes", "expected 8");
        rejects(file("o.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "\"b\"", "overlap", "\"a\"");
        rejects(file("n.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4),
                "\"w\"", "shape");
        rejects(file("m.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "\"w\"", "data_offsets");
        rejects(file("z.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]}}", 0),
                "\"w\"", "empty");
    }

    @Test
    void badMetadataIsRejected() throws IOException {
        rejects(file("md.safetensors", "{\"__metadata__\":{\"k\":1}}", 0), "__metadata__", "\"k\"");
    }

    // ---- hostile files: every one ends within seconds in one line naming the file ----

    @Test
    void headerClaimBeyondTheLimitIsRefusedBeforeItIsRead() throws IOException {
        // A 200 MB header, all of it present (a sparse file): the claim is refused before 200 MB are read or decoded.
        Path f = tmp.resolve("bighead.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN).putLong(200_000_000L).put((byte) '{')
                    .array());
            raf.setLength(8 + 200_000_000L);
        }
        long before = allocatedBytes();
        long t0 = System.nanoTime();
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> SafetensorsReader.read(f));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        long allocated = allocatedBytes() - before;
        assertTrue(allocated < 16 << 20, "allocated " + allocated + " bytes");
        assertTrue(ms < 5_000, "took " + ms + " ms");
        rejects(f, "safetensors header length: 200000000 exceeds the limit of 100000000", "jresnet.limit.headerBytes");
        System.out.println("[hostile] " + e.getMessage() + "   <- " + allocated / 1024 + " KiB allocated, " + ms + " ms");
    }

    @Test
    void tensorBeyondTheElementLimitIsRefusedBeforeItIsRead() throws IOException {
        Path f = file("many.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,32]}}", 32);
        String key = dev.jresnet.io.Limits.TENSOR_ELEMENTS.property();
        System.setProperty(key, "7");
        try {
            WeightFormatException e = rejects(f, "\"w\"", "[2, 4]", "8 exceeds the limit of 7", key);
            System.out.println("[hostile] " + e.getMessage());
        } finally {
            System.clearProperty(key);
        }
        assertEquals(8, SafetensorsReader.read(f).entries().get("w").floats().size());
    }

    @Test
    void tensorSpanningMoreThanAnArrayIsRefused() throws IOException {
        // 2^28 I64 elements (within the element limit) span 2^31 bytes: more than one Java array, checked by name
        rejects(file("wide.safetensors", "{\"w\":{\"dtype\":\"I64\",\"shape\":[268435456],\"data_offsets\":[0,2147483648]}}",
                0), "\"w\"", "spans 2147483648 bytes; a tensor may span at most 2 GiB");
    }

    @Test
    void fileTruncatedWhileBeingReadIsAFormatErrorNamingTheTensor() throws IOException {
        // 4 MB of data, cut to 100 bytes after the reader has opened the file and taken its size: a memory mapping
        // would fault on the lost pages (java.lang.InternalError); positional reads come back short instead.
        Map<String, WeightSet.Entry> m = new LinkedHashMap<>();
        m.put("big", new WeightSet.Entry("big", DataType.F32, Tensor.zeros(1 << 20), null, new int[] {1 << 20}));
        Path f = tmp.resolve("shrinks.safetensors");
        SafetensorsWriter.write(f, new WeightSet(null, m, Map.of()), DataType.F32, Map.of());
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> SafetensorsReader.read(f, () -> {
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(100);
            } catch (IOException x) {
                throw new UncheckedIOException(x);
            }
        }));
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("\"big\"") && e.getMessage().contains("changed while it was being read"),
                e.getMessage());
        System.out.println("[hostile] " + e.getMessage());
    }

    @Test
    void namedPipesAndDevicesAreRefusedWithoutOpeningThem() throws Exception {
        Path fifo = tmp.resolve("pipe.safetensors");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Path zero = Files.createSymbolicLink(tmp.resolve("zero.safetensors"), Path.of("/dev/zero"));
        for (Path p : List.of(fifo, zero)) {
            for (boolean direct : new boolean[] {true, false}) {
                IOException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(IOException.class,
                        () -> {
                            if (direct) {
                                SafetensorsReader.read(p);
                            } else {
                                WeightSets.read(p);
                            }
                        }));
                assertEquals((direct ? "" : "weights file ") + p
                        + ": is not a regular file (a named pipe, a socket or a device)", e.getMessage());
                if (direct) {
                    System.out.println("[hostile] " + e.getMessage());
                }
            }
        }
    }

    /** Bytes this thread has allocated so far (HotSpot). */
    static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    // ---- failed writes ----

    @Test
    void failedMoveLeavesNoTempFileAndNoDestination() throws IOException {
        Path dest = tmp.resolve("dest.safetensors");
        Files.createDirectory(dest);
        Files.writeString(dest.resolve("keep"), "x"); // a non-empty directory cannot be replaced
        assertThrows(IOException.class, () -> SafetensorsWriter.write(dest, sample(), DataType.F16, Map.of()));
        assertTrue(Files.isDirectory(dest));
        assertEquals("x", Files.readString(dest.resolve("keep")));
        assertNoTempFiles();
    }

    @Test
    void invalidEntryLeavesExistingFileUntouched() throws IOException {
        Path dest = Files.writeString(tmp.resolve("dest.safetensors"), "previous");
        Map<String, WeightSet.Entry> m = new LinkedHashMap<>(sample().entries());
        m.put("bad", new WeightSet.Entry("bad", DataType.F32, Tensor.zeros(3), null, new int[] {4}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(dest, new WeightSet(null, m, Map.of()), DataType.F32, Map.of()));
        assertTrue(e.getMessage().contains("\"bad\"") && e.getMessage().contains(dest.toString()), e.getMessage());
        assertEquals("previous", Files.readString(dest));
        assertNoTempFiles();
        assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(dest, sample(), DataType.F64, Map.of()));
    }

    private void assertNoTempFiles() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            List<Path> temps = s.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
            assertFalse(!temps.isEmpty(), "temporary files left: " + temps);
        }
    }
}
