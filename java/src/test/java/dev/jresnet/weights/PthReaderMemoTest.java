package dev.jresnet.weights;

import dev.jresnet.tensor.DataType;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A state_dict that torch.save wrote with the pickle opcodes of a large file, read without PyTorch: the committed
 * memo-and-wide-ints.pth (26.5 KB, written by weights/reference/pth_memo_fixture.py, which fails unless its pickle
 * holds them; it counted LONG_BINPUT 1876, LONG_BINGET 150, BININT2 345, BININT 1). The values follow the
 * script's formulas, recomputed here.
 */
class PthReaderMemoTest {
    private static final float[] C = {1.5f, -2.5f, 3.5f};

    private static Path fixture() throws URISyntaxException {
        return Path.of(PthReaderMemoTest.class.getResource("memo-and-wide-ints.pth").toURI());
    }

    @Test
    void readsEveryTensorOfALargePickleExactly() throws Exception {
        WeightSet ws = PthReader.read(fixture());
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            names.add(String.format("a%03d", i));
        }
        for (int i = 0; i < 150; i++) {
            names.add(String.format("b%03d", i));
        }
        names.addAll(List.of("wide", "wider", "counts"));
        assertEquals(names, List.copyOf(ws.entries().keySet()));
        for (int i = 0; i < 150; i++) {
            // A[j] = (j - 150) / 4 and B[j] = 1000 + j / 2: exact in float32
            assertFloats(ws, String.format("a%03d", i), new int[] {2}, (2 * i - 150) / 4f, (2 * i + 1 - 150) / 4f);
            assertFloats(ws, String.format("b%03d", i), new int[] {2}, 1000 + i, 1000 + i + 0.5f);
        }
        assertFloats(ws, "wide", new int[] {1, 3}, C);
        assertFloats(ws, "wider", new int[] {1, 3}, C);
        WeightSet.Entry counts = ws.entries().get("counts");
        assertEquals(DataType.I64, counts.storedType());
        assertArrayEquals(new long[] {40000, 70000, -5, 1L << 40}, counts.longs());
    }

    /** The pickle's own integers and memo references, before PthReader turns them into tensors. */
    @Test
    void decodesBinint2AboveTheSignBitBinintAndLongMemoReferences() throws Exception {
        Map<?, ?> dict;
        try (ZipFile z = new ZipFile(fixture().toFile())) {
            byte[] pkl = z.getInputStream(z.getEntry("memo-and-wide-ints/data.pkl")).readAllBytes();
            dict = assertInstanceOf(Map.class, PickleReader.read("data.pkl", pkl));
        }
        PickleReader.TensorRef wide = (PickleReader.TensorRef) dict.get("wide");
        PickleReader.TensorRef wider = (PickleReader.TensorRef) dict.get("wider");
        assertArrayEquals(new long[] {40000, 1}, wide.stride());      // BININT2 0x9c40
        assertArrayEquals(new long[] {70000, 1}, wider.stride());     // BININT
        assertEquals(wide.storage(), wider.storage());
        assertEquals(298, ((PickleReader.TensorRef) dict.get("a149")).offset());   // BININT2 below the sign bit
        // b000's storage key string is memoised after the 256th entry; b001 .. b149 fetch it with LONG_BINGET.
        PickleReader.StorageRef b = ((PickleReader.TensorRef) dict.get("b000")).storage();
        assertEquals(new PickleReader.StorageRef(b.key(), DataType.F32, 300), b);
        PickleReader.StorageRef a = ((PickleReader.TensorRef) dict.get("a000")).storage();
        assertTrue(!a.key().equals(b.key()), "A and B are two storages");
        for (int i = 0; i < 150; i++) {
            PickleReader.TensorRef ai = (PickleReader.TensorRef) dict.get(String.format("a%03d", i));
            PickleReader.TensorRef bi = (PickleReader.TensorRef) dict.get(String.format("b%03d", i));
            assertEquals(a, ai.storage(), "a" + i);
            assertEquals(b, bi.storage(), "b" + i);
            assertEquals(2L * i, bi.offset(), "b" + i);
            assertArrayEquals(new long[] {2}, bi.size(), "b" + i);
        }
        assertTrue(Files.size(fixture()) < 30_000, "the committed fixture stays small");
    }

    private static void assertFloats(WeightSet ws, String name, int[] dims, float... values) {
        WeightSet.Entry e = ws.entries().get(name);
        assertEquals(DataType.F32, e.storedType(), name);
        assertArrayEquals(dims, e.dims(), name);
        assertArrayEquals(values, e.floats().data(), name);
    }
}
