package dev.jresnet.weights;

import dev.jresnet.io.Limits;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PthReader} on archives made here: views at the edges of their storage (the last element, stride 0, views
 * sharing a storage in any order), the archive folder found among other entries, and what each refusal states.
 */
class PthViewsTest {
    @TempDir
    Path tmp;

    private Path pth(String name, byte[] pkl, byte[] storage) throws IOException {
        Map<String, byte[]> z = new LinkedHashMap<>();
        z.put("arch/data.pkl", pkl);
        z.put("arch/data/0", storage);
        z.put("arch/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return Fixtures.zip(tmp.resolve(name), z);
    }

    /** A state_dict pickle of views of float storage "0" of {@code numel}: {name, offset, size, stride} each. */
    private static byte[] views(int numel, Object[]... v) {
        Object[][] t = new Object[v.length][];
        for (int i = 0; i < v.length; i++) {
            t[i] = new Object[] {v[i][0], "0", numel, v[i][1], v[i][2], v[i][3]};
        }
        return Fixtures.stateDictPickle("FloatStorage", t);
    }

    private static String refusal(Path f) {
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> PthReader.read(f));
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void viewsReachingTheLastElementAreReadAndOnePastItIsRefused() throws IOException {
        float[] s = {1, 2, 3, 4, 5, 6};
        byte[] data = Fixtures.floatsLE(s);
        // [2, 2] at offset 2 with strides (1, 2): elements 2, 4, 3, 5 (a transposed view ending at the last one)
        WeightSet ws = PthReader.read(pth("last.pth", views(6,
                new Object[] {"t", 2, new long[] {2, 2}, new long[] {1, 2}},
                new Object[] {"b", 0, new long[] {3, 2}, new long[] {0, 1}},
                new Object[] {"all", 0, new long[] {6}, new long[] {1}}), data));
        assertArrayEquals(new float[] {3, 5, 4, 6}, ws.entries().get("t").floats().data());
        assertArrayEquals(new float[] {1, 2, 1, 2, 1, 2}, ws.entries().get("b").floats().data(), "stride 0 repeats");
        assertArrayEquals(s, ws.entries().get("all").floats().data());
        assertEquals(java.util.List.of("t", "b", "all"), java.util.List.copyOf(ws.entries().keySet()));

        Path past = pth("past.pth", views(6, new Object[] {"w", 3, new long[] {2, 2}, new long[] {1, 2}}), data);
        assertTrue(refusal(past).endsWith(": tensor \"w\" (size [2, 2], stride [1, 2], storage offset 3) reaches "
                + "element 6 of storage 0, which holds 6 elements"), refusal(past));
        Path negative = pth("neg.pth", views(6, new Object[] {"w", 5, new long[] {2}, new long[] {-1}}), data);
        assertTrue(refusal(negative).contains("(size [2], stride [-1], storage offset 5)"), refusal(negative));
    }

    @Test
    void theArchiveFolderIsTheOneHoldingDataPkl() throws IOException {
        byte[] pkl = views(2, new Object[] {"w", 0, new long[] {2}, new long[] {1}});
        Map<String, byte[]> z = new LinkedHashMap<>();
        z.put("other/notes.txt", new byte[1]);
        z.put("/data.pkl", pkl); // a slash first is no folder
        z.put("my model/data.pkl", pkl);
        z.put("my model/data/0", Fixtures.floatsLE(7, 8));
        assertArrayEquals(new float[] {7, 8},
                PthReader.read(Fixtures.zip(tmp.resolve("prefix.pth"), z)).entries().get("w").floats().data());

        Map<String, byte[]> none = new LinkedHashMap<>();
        for (int i = 0; i < 8; i++) {
            none.put("e" + i, new byte[1]);
        }
        Path eight = Fixtures.zip(tmp.resolve("eight.pth"), none);
        assertTrue(refusal(eight).endsWith("expected one ARCHIVE/data.pkl entry, found 0 (entries: [e0, e1, e2, e3, e4, "
                + "e5, e6, e7])"), refusal(eight));
        none.put("/data.pkl", pkl);
        Path nine = Fixtures.zip(tmp.resolve("nine.pth"), none);
        assertTrue(refusal(nine).endsWith("found 0 (entries: [e0, e1, e2, e3, e4, e5, e6, e7], ...)"), refusal(nine));
        Map<String, byte[]> two = new LinkedHashMap<>();
        two.put("a/data.pkl", pkl);
        two.put("b/data.pkl", pkl);
        assertTrue(refusal(Fixtures.zip(tmp.resolve("two.pth"), two)).contains("found 2 (entries: [a/data.pkl, "
                + "b/data.pkl])"));
    }

    @Test
    void aZipCutShortIsNamedAsSuch() throws IOException {
        Path whole = pth("whole.pth", views(2, new Object[] {"w", 0, new long[] {2}, new long[] {1}}),
                Fixtures.floatsLE(7, 8));
        byte[] all = Files.readAllBytes(whole);
        for (int cut : new int[] {all.length - 1, all.length - 30, all.length / 2, 10}) {
            Path f = Files.write(tmp.resolve("cut" + cut + ".pth"), Arrays.copyOf(all, cut));
            String m = refusal(f);
            // java.util.zip's own reason ("zip END header not found"), not the words for an EOFException without one
            assertTrue(m.contains(": not a readable zip archive (torch.save format): ") && !m.endsWith("null")
                    && !m.endsWith("it ends early (truncated?)"), m);
        }
    }

    @Test
    void eachRecordIsBoundedByItsOwnLimit() throws IOException {
        byte[] pkl = views(2, new Object[] {"w", 0, new long[] {2}, new long[] {1}});
        Path f = pth("limits.pth", pkl, Fixtures.floatsLE(7, 8));
        // data.pkl against the header limit, worded as that limit, also when the zip entry limit is exactly its size
        String header = Limits.HEADER_BYTES.property(), entry = Limits.ZIP_ENTRY_BYTES.property();
        System.setProperty(header, "50");
        System.setProperty(entry, Integer.toString(pkl.length));
        try {
            assertTrue(refusal(f).contains(": record arch/data.pkl: bytes declared: " + pkl.length + " exceeds the limit of "
                    + "50 (-D" + header + "=N raises it)"), refusal(f));
        } finally {
            System.clearProperty(header);
            System.clearProperty(entry);
        }
        // byteorder has no limit of its own: 64 bytes is plenty for "little"
        Map<String, byte[]> z = new LinkedHashMap<>();
        z.put("a/byteorder", ("little" + " ".repeat(59)).getBytes(StandardCharsets.US_ASCII));
        z.put("a/data.pkl", pkl);
        z.put("a/data/0", Fixtures.floatsLE(7, 8));
        assertTrue(refusal(Fixtures.zip(tmp.resolve("order.pth"), z)).endsWith(": record a/byteorder holds 65 bytes, more "
                + "than the 64 expected"));
        z.put("a/byteorder", ("little" + " ".repeat(58)).getBytes(StandardCharsets.US_ASCII));
        assertEquals(8f, PthReader.read(Fixtures.zip(tmp.resolve("order64.pth"), z)).entries().get("w").floats().data()[1]);
    }

    @Test
    void aBigEndianArchiveIsRefused() throws IOException {
        Map<String, byte[]> z = new LinkedHashMap<>();
        z.put("a/byteorder", "big".getBytes(StandardCharsets.US_ASCII));
        z.put("a/data.pkl", views(2, new Object[] {"w", 0, new long[] {2}, new long[] {1}}));
        z.put("a/data/0", Fixtures.floatsLE(7, 8));
        Path f = Fixtures.zip(tmp.resolve("big.pth"), z);
        assertTrue(refusal(f).endsWith(": a/byteorder says \"big\", expected \"little\" (big-endian archives are not "
                + "supported)"), refusal(f));
        z.put("a/byteorder", "little\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals(8f, PthReader.read(Fixtures.zip(tmp.resolve("little.pth"), z)).entries().get("w").floats().data()[1]);
    }
}
