package dev.jresnet.weights;

import dev.jresnet.testing.HostileFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Hostile .pth files, each made here: every one must be refused within seconds in one line naming the file (and the
 * tensor where there is one) and the reason, with a WeightFormatException (never a StackOverflowError, an
 * OutOfMemoryError or a hang). The messages are printed, so that the test report shows what a user would read.
 */
class HostilePthTest {
    private static final Duration SECONDS = Duration.ofSeconds(10);

    @TempDir
    Path tmp;

    private Path archive(String name, byte[] pkl, Map<String, byte[]> extra) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("arch/data.pkl", pkl);
        entries.putAll(extra);
        entries.putIfAbsent("arch/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return Fixtures.zip(tmp.resolve(name), entries);
    }

    /** Reads {@code file} with WeightSets.read, expecting a one-line refusal naming it and holding every fragment. */
    static String refused(Path file, String... fragments) {
        return refused(file, () -> WeightSets.read(file), fragments);
    }

    static String refused(Path file, Callable<?> read, String... fragments) {
        return HostileFiles.refused(file, read, fragments);
    }

    private static void withLimit(String name, long value, Callable<?> body) throws Exception {
        String key = "jresnet.limit." + name;
        String old = System.getProperty(key);
        System.setProperty(key, Long.toString(value));
        try {
            body.call();
        } finally {
            if (old == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, old);
            }
        }
    }

    // --- the pickle: keys Python could not hash, nesting, opcodes ---------------------------------------

    @Test
    void listHoldingItselfAsADictKeyIsRefused() throws IOException {
        // d = {}; l = []; l.append(l); d[l] = 1: Java's ArrayList.hashCode recursed until the stack overflowed
        byte[] pkl = new Fixtures.Pickle().op(0x80, 2, '}', ']', 'q', 0, 'h', 0, 'a', 'K', 1, 's', '.').bytes();
        refused(archive("selfkey.pth", pkl, Map.of()), "arch/data.pkl", "a dict key is a list, which Python cannot hash");
    }

    @Test
    void dictAsAKeyInSetitemsIsRefused() throws IOException {
        byte[] pkl = new Fixtures.Pickle().op(0x80, 2, '}', '(', '}', 'K', 1, 'u', '.').bytes();
        refused(archive("dictkey.pth", pkl, Map.of()), "a dict key is a dict");
    }

    @Test
    void listsSharingTheirChildrenAsAKeyAreRefusedAtOnce() throws IOException {
        // l0 = []; l_i = [l_{i-1}, l_{i-1}]: hashing l_60 visits 2^60 lists (ArrayList.hashCode spun for ever)
        Fixtures.Pickle p = new Fixtures.Pickle().op(0x80, 2, '}', ']', 'q', 0, '0');
        for (int i = 1; i <= 60; i++) {
            p.op(']', 'h', i - 1, 'a', 'h', i - 1, 'a', 'q', i, '0');
        }
        byte[] pkl = p.op('h', 60, 'K', 1, 's', '.').bytes();
        assertTrue(pkl.length < 1500, "a small file: " + pkl.length);
        refused(archive("hashbomb.pth", pkl, Map.of()), "which Python cannot hash");
    }

    @Test
    void tuplesSharingTheirChildrenAreHashableAndCheckedInConstantTime() throws IOException {
        // t_i = (t_{i-1}, t_{i-1}): a legal key (Python hashes it, slowly); the check must not walk 2^200 paths
        Fixtures.Pickle p = new Fixtures.Pickle().op(0x80, 2, '}', 'N');
        for (int i = 0; i < 200; i++) {
            p.op('2', 0x86);
        }
        byte[] pkl = p.op('K', 1, 's', '.').bytes();
        refused(archive("tuplekey.pth", pkl, Map.of()), "state_dict key", "is not a string");
    }

    @Test
    void deeplyNestedListsAsAKeyAreRefused() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {(byte) 0x80, 2, '}'});
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            b.write(']');
        }
        for (int i = 1; i < n; i++) {
            b.write('a'); // the innermost list into the one below it
        }
        b.writeBytes(new byte[] {'K', 1, 's', '.'});
        refused(archive("deepkey.pth", b.toByteArray(), Map.of()), "containers nested deep: 1001 exceeds the limit of 1000",
                "jresnet.limit.nestingDepth");
    }

    @Test
    void deeplyNestedTuplesAndListsAreRefused() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {(byte) 0x80, 2, '}', 'K', 1, 'N'});
        for (int i = 0; i < 100_000; i++) {
            b.write(0x85); // TUPLE1
        }
        b.writeBytes(new byte[] {'s', '.'});
        refused(archive("deeptuple.pth", b.toByteArray(), Map.of()), "containers nested deep: 1001");
        b.reset();
        b.writeBytes(new byte[] {(byte) 0x80, 2, '}', 'K', 1});
        for (int i = 0; i < 100_000; i++) {
            b.writeBytes(new byte[] {'(', ']'});
        }
        for (int i = 0; i < 100_000; i++) {
            b.write('l'); // LIST from the MARK: [[[...]]]
        }
        b.writeBytes(new byte[] {'s', '.'});
        refused(archive("deeplist.pth", b.toByteArray(), Map.of()), "containers nested deep: 1001");
    }

    @Test
    void pickleOpcodesAreBounded() throws Exception {
        Fixtures.Pickle p = new Fixtures.Pickle().op(0x80, 2, '}');
        for (int i = 0; i < 1000; i++) {
            p.op('N', '0'); // push None, pop it
        }
        Path f = archive("ops.pth", p.op('.').bytes(), Map.of());
        assertEquals(0, WeightSets.read(f).entries().size(), "an empty state_dict under the default limit");
        withLimit("pickleObjects", 1000, () -> refused(f, "pickle opcodes: 1001 exceeds the limit of 1000",
                "jresnet.limit.pickleObjects"));
    }

    // --- the zip: entries that inflate to more than they declare, storages too large ----------------------

    @Test
    void zipEntryInflatingBeyondItsDeclaredSizeIsRefusedWithoutInflatingIt() throws IOException {
        // data.pkl declares 166 bytes and inflates to 2.5 GiB (from 2.5 MB): readAllBytes ran out of memory
        byte[] bomb = Fixtures.zeroBomb(2560);
        Path f = Fixtures.rawZip(tmp.resolve("bomb.pth"), List.of(
                new Fixtures.RawEntry("arch/data.pkl", 8, 166, 0, bomb, 0),
                new Fixtures.RawEntry("arch/version", 0, 2, 0, "3\n".getBytes(StandardCharsets.US_ASCII), 0)));
        refused(f, "arch/data.pkl inflates to more than the 166 bytes its zip entry declares");
    }

    @Test
    void storageLargerThanTheZipEntryLimitIsRefusedBeforeReading() throws Exception {
        byte[] pkl = Fixtures.stateDictPickle("FloatStorage",
                new Object[] {"w", "0", 300, 0, new long[] {300}, new long[] {1}});
        Path f = archive("entry.pth", pkl, Map.of("arch/data/0", new byte[1200]));
        assertEquals(1, WeightSets.read(f).entries().size());
        withLimit("zipEntryBytes", 1000, () -> refused(f, "arch/data/0: bytes declared: 1200 exceeds the limit of 1000",
                "jresnet.limit.zipEntryBytes"));
    }

    @Test
    void honestStorageOverTheTensorLimitIsRefusedBeforeReading() throws IOException {
        // 2^28 + 1 floats really stored (a sparse file: 1 GiB of holes), of which a tensor views one: the storage
        // was read whole (and a view of all of it is refused by its shape, as below)
        long numel = (1L << 28) + 1;
        byte[] pkl = Fixtures.stateDictPickle("FloatStorage",
                new Object[] {"fc.weight", "0", (int) numel, 0, new long[] {1}, new long[] {1}});
        Path f = Fixtures.rawZip(tmp.resolve("huge.pth"), List.of(
                new Fixtures.RawEntry("arch/data.pkl", 0, pkl.length, crc(pkl), pkl, 0),
                new Fixtures.RawEntry("arch/data/0", 0, 4 * numel, 0, null, 4 * numel)));
        assertTrue(Files.size(f) > 4 * numel);
        refused(f, "\"fc.weight\"", "elements of storage 0 (F32): 268435457 exceeds the limit of 268435456",
                "jresnet.limit.tensorElements");
    }

    @Test
    void viewWithStrideZeroCannotDeclareMoreThanTheTensorLimit() throws IOException {
        // one stored float viewed 2^30 times: 4 GiB gathered from 4 bytes
        byte[] pkl = Fixtures.stateDictPickle("FloatStorage",
                new Object[] {"bn.weight", "0", 1, 0, new long[] {1L << 30}, new long[] {0}});
        refused(archive("stride0.pth", pkl, Map.of("arch/data/0", new byte[4])), "\"bn.weight\"",
                "shape [1073741824] elements: 1073741824 exceeds the limit of 268435456");
    }

    @Test
    void viewsOfOneStorageAreBoundedTogether() throws Exception {
        byte[] pkl = Fixtures.stateDictPickle("FloatStorage",
                new Object[] {"a", "0", 600, 0, new long[] {600}, new long[] {1}},
                new Object[] {"b", "0", 600, 0, new long[] {600}, new long[] {1}});
        Path f = archive("views.pth", pkl, Map.of("arch/data/0", new byte[2400]));
        assertEquals(2, WeightSets.read(f).entries().size());
        withLimit("weightElements", 1000, () -> refused(f, "elements of the tensors up to \"b\": 1200 exceeds the limit "
                + "of 1000"));
    }

    // --- what is not a weights file at all ----------------------------------------------------------------

    @Test
    void missingFileFolderAndDeviceAreNamed() throws IOException {
        Path missing = tmp.resolve("missing.pth");
        refused(missing, "weights file", "no such file");
        refused(missing, () -> PthReader.read(missing), "no such file");
        Path dir = Files.createDirectory(tmp.resolve("folder.pth"));
        refused(dir, "is a directory");
        refused(dir, () -> PthReader.read(dir), "is a directory");
        Path zero = Path.of("/dev/zero");
        assumeTrue(Files.exists(zero), "no /dev/zero here");
        Path link = Files.createSymbolicLink(tmp.resolve("zero.pth"), zero);
        refused(link, "is not a regular file");
        refused(link, () -> PthReader.read(link), "is not a regular file");
    }

    @Test
    void namedPipeIsRefusedWithoutOpeningIt() throws Exception {
        Path fifo = mkfifo(tmp.resolve("pipe.pth"));
        refused(fifo, "is not a regular file");
        refused(fifo, () -> PthReader.read(fifo), "is not a regular file");
    }

    /** A named pipe (nothing ever writes to it: opening it to read would block for ever), or the test is skipped. */
    static Path mkfifo(Path p) throws Exception {
        Process proc;
        try {
            proc = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "mkfifo is not available here: " + e.getMessage());
            return null;
        }
        assumeTrue(proc.waitFor() == 0 && Files.exists(p), "mkfifo failed: " + new String(proc.getInputStream().readAllBytes()));
        return p;
    }

    private static long crc(byte[] b) {
        java.util.zip.CRC32 c = new java.util.zip.CRC32();
        c.update(b);
        return c.getValue();
    }
}
