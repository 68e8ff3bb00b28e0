package dev.jresnet.weights;

import dev.jresnet.tensor.DataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PthReaderTest {
    @TempDir
    Path tmp;

    private static void assertTorchFixture(String name, DataType floatType) throws IOException {
        Path dir = Fixtures.torchFixtures();
        WeightSet ws = PthReader.read(dir.resolve(name + ".pth"));
        Fixtures.assertMatches(Fixtures.expected(dir, name), ws);
        assertEquals(dir.resolve(name + ".pth"), ws.source());
        assertTrue(ws.metadata().isEmpty());
        for (WeightSet.Entry e : ws.entries().values()) {
            DataType want = e.name().endsWith("num_batches_tracked") ? DataType.I64 : floatType;
            assertEquals(want, e.storedType(), e.name());
        }
        WeightSet.Entry nbt = ws.entries().get("bn.num_batches_tracked");
        assertArrayEquals(new int[0], nbt.dims());
        assertArrayEquals(new long[] {1}, nbt.longs());
    }

    @Test
    void readsFloat32StateDict() throws IOException {
        assertTorchFixture("a_f32", DataType.F32);
    }

    @Test
    void readsHalfStateDict() throws IOException {
        assertTorchFixture("b_f16", DataType.F16);
    }

    @Test
    void readsBfloat16StateDict() throws IOException {
        assertTorchFixture("c_bf16", DataType.BF16);
    }

    @Test
    void readsViewsOfOneSharedStorage() throws IOException {
        Path dir = Fixtures.torchFixtures();
        Path file = dir.resolve("d_views.pth");
        try (ZipFile z = new ZipFile(file.toFile())) {
            // the script asserts this too; here it guards against a fixture that silently stopped sharing
            assertEquals(4, z.stream().filter(e -> e.getName().contains("/data/")).count());
        }
        WeightSet ws = WeightSets.read(file);
        Fixtures.assertMatches(Fixtures.expected(dir, "d_views"), ws);
        assertArrayEquals(new int[0], ws.entries().get("scalar").dims());
        assertEquals(0, ws.entries().get("scalar").floats().rank());
        assertEquals(1, ws.entries().get("scalar").floats().size());
        assertEquals(DataType.F64, ws.entries().get("f64").storedType());
        assertArrayEquals(new long[] {-2, -1, 0, 1, 2, 3, 4}, ws.entries().get("i64").longs());
    }

    @Test
    void truncatedTorchFileIsRejected() throws IOException {
        Path src = Fixtures.torchFixtures().resolve("a_f32.pth");
        byte[] all = Files.readAllBytes(src);
        Path cut = Files.write(tmp.resolve("cut.pth"), Arrays.copyOf(all, all.length / 2));
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> WeightSets.read(cut));
        assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
    }

    // The tests below build archives by hand, so they run without torch.

    private Path archive(String name, byte[] pkl, Map<String, byte[]> extra) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("arch/data.pkl", pkl);
        entries.putAll(extra);
        entries.putIfAbsent("arch/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return Fixtures.zip(tmp.resolve(name), entries);
    }

    private static Object[] t(String name, String key, int numel, int offset, long[] size, long[] stride) {
        return new Object[] {name, key, numel, offset, size, stride};
    }

    private WeightFormatException rejects(Path file, String... mustContain) {
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> PthReader.read(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String s : mustContain) {
            assertTrue(e.getMessage().contains(s), "\"" + s + "\" missing from: " + e.getMessage());
        }
        return e;
    }

    @Test
    void handMadeArchiveWithViewsAndAnyFolderName() throws IOException {
        byte[] pkl = Fixtures.stateDictPickle("FloatStorage",
                t("m", "0", 6, 0, new long[] {2, 3}, new long[] {3, 1}),
                t("mt", "0", 6, 0, new long[] {3, 2}, new long[] {1, 3}),
                t("tail", "0", 6, 4, new long[] {2}, new long[] {1}),
                t("s", "0", 6, 5, new long[] {}, new long[] {}));
        Path f = archive("x.pth", pkl, Map.of("arch/data/0", Fixtures.floatsLE(0, 1, 2, 3, 4, 5),
                "arch/byteorder", "little".getBytes(StandardCharsets.US_ASCII)));
        WeightSet ws = PthReader.read(f);
        assertEquals(java.util.List.of("m", "mt", "tail", "s"), java.util.List.copyOf(ws.entries().keySet()));
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, ws.entries().get("m").floats().data());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, ws.entries().get("mt").floats().data());
        assertArrayEquals(new int[] {3, 2}, ws.entries().get("mt").dims());
        assertArrayEquals(new float[] {4, 5}, ws.entries().get("tail").floats().data());
        assertArrayEquals(new float[] {5}, ws.entries().get("s").floats().data());
    }

    @Test
    void forbiddenGlobalIsNamed() throws IOException {
        byte[] pkl = new Fixtures.Pickle().op(0x80, 2).global("os", "system").str("echo pwned").op(0x85, 'R', '.').bytes();
        rejects(archive("evil.pth", pkl, Map.of()), "os.system", "arch/data.pkl");
        byte[] stack = new Fixtures.Pickle().op(0x80, 4).str("builtins").str("eval").op(0x93, '.').bytes();
        rejects(archive("evil2.pth", stack, Map.of()), "builtins.eval");
    }

    @Test
    void callingAStorageClassIsRefused() throws IOException {
        byte[] pkl = new Fixtures.Pickle().op(0x80, 2).global("torch", "FloatStorage").op(')', 'R', '.').bytes();
        rejects(archive("call.pth", pkl, Map.of()), "torch.FloatStorage");
    }

    @Test
    void bigEndianArchiveIsRejected() throws IOException {
        byte[] pkl = Fixtures.stateDictPickle("FloatStorage", t("w", "0", 1, 0, new long[] {1}, new long[] {1}));
        Path f = archive("big.pth", pkl, Map.of("arch/data/0", new byte[4], "arch/byteorder", "big".getBytes()));
        rejects(f, "big", "little");
    }

    @Test
    void storageOfWrongSizeNamesTensorAndByteCounts() throws IOException {
        byte[] pkl = Fixtures.stateDictPickle("HalfStorage", t("layer.weight", "0", 4, 0, new long[] {4}, new long[] {1}));
        Path f = archive("short.pth", pkl, Map.of("arch/data/0", new byte[6]));
        rejects(f, "layer.weight", "6 bytes", "expected 8");
    }

    @Test
    void missingStorageRecordIsNamed() throws IOException {
        byte[] pkl = Fixtures.stateDictPickle("FloatStorage", t("w", "7", 1, 0, new long[] {1}, new long[] {1}));
        rejects(archive("nostorage.pth", pkl, Map.of()), "\"w\"", "arch/data/7");
    }

    @Test
    void viewBeyondItsStorageIsRejected() throws IOException {
        byte[] pkl = Fixtures.stateDictPickle("FloatStorage", t("v", "0", 6, 2, new long[] {2, 3}, new long[] {3, 1}));
        rejects(archive("oob.pth", pkl, Map.of("arch/data/0", new byte[24])), "\"v\"", "offset 2", "holds 6 elements");
    }

    @Test
    void truncatedPickleIsRejected() throws IOException {
        byte[] pkl = Fixtures.stateDictPickle("FloatStorage", t("w", "0", 1, 0, new long[] {1}, new long[] {1}));
        Path f = archive("cutpkl.pth", Arrays.copyOf(pkl, pkl.length - 10), Map.of("arch/data/0", new byte[4]));
        rejects(f, "arch/data.pkl");
    }

    @Test
    void nonTensorValueAndMissingPickleAreRejected() throws IOException {
        byte[] pkl = new Fixtures.Pickle().op(0x80, 2, '}').str("k").op('N', 's', '.').bytes();
        rejects(archive("none.pth", pkl, Map.of()), "\"k\"", "expected a tensor");
        Path f = Fixtures.zip(tmp.resolve("nopkl.pth"), Map.of("arch/version", new byte[] {'3'}));
        rejects(f, "data.pkl", "arch/version");
    }

    @Test
    void unsupportedOpcodeIsRejected() throws IOException {
        byte[] pkl = new Fixtures.Pickle().op(0x80, 2, 'i').bytes(); // INST: a protocol-0 way to call anything
        rejects(archive("inst.pth", pkl, Map.of()), "0x69");
    }

    @Test
    void handMadeTruncatedZipIsRejected() throws IOException {
        byte[] pkl = Fixtures.stateDictPickle("FloatStorage", t("w", "0", 1, 0, new long[] {1}, new long[] {1}));
        Path ok = archive("ok.pth", pkl, Map.of("arch/data/0", new byte[4]));
        byte[] all = Files.readAllBytes(ok);
        Path cut = Files.write(tmp.resolve("cut.pth"), Arrays.copyOf(all, all.length - 30));
        rejects(cut, "zip");
    }
}
