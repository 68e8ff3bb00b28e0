package dev.jresnet.weights;

import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightSetsTest {
    @TempDir
    Path tmp;

    private static WeightSet.Entry floats(String name, float... v) {
        return new WeightSet.Entry(name, DataType.F32, new Tensor(Shape.of(v.length), v), null, new int[] {v.length});
    }

    @Test
    void picksReaderByContentNotName() throws IOException {
        Map<String, WeightSet.Entry> m = new LinkedHashMap<>();
        m.put("w", floats("w", 1, 2, 3));
        Path st = tmp.resolve("looks-like.pth");
        SafetensorsWriter.write(st, new WeightSet(null, m, Map.of()), DataType.F32, Map.of());
        assertEquals(3, WeightSets.read(st).entries().get("w").floats().size());

        byte[] pkl = Fixtures.stateDictPickle("FloatStorage",
                new Object[] {"w", "0", 2, 0, new long[] {2}, new long[] {1}});
        Map<String, byte[]> z = new LinkedHashMap<>();
        z.put("a/data.pkl", pkl);
        z.put("a/data/0", Fixtures.floatsLE(7, 8));
        Path pth = Fixtures.zip(tmp.resolve("looks-like.safetensors"), z);
        assertEquals(8f, WeightSets.read(pth).entries().get("w").floats().data()[1]);
    }

    @Test
    void unknownFormatNamesFileAndFirstBytes() throws IOException {
        Path f = Files.write(tmp.resolve("x.bin"), new byte[] {(byte) 0x89, 'H', 'D', 'F', 0x0d, 0x0a});
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> WeightSets.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("89 48 44 46 0d 0a"), e.getMessage());
        Path empty = Files.write(tmp.resolve("empty"), new byte[0]);
        e = assertThrows(WeightFormatException.class, () -> WeightSets.read(empty));
        assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
    }

    @Test
    void requireFiniteNamesFirstBadTensor() throws IOException {
        Map<String, WeightSet.Entry> m = new LinkedHashMap<>();
        m.put("ok", floats("ok", 1, 2));
        m.put("n", new WeightSet.Entry("n", DataType.I64, null, new long[] {5}, new int[0]));
        m.put("layer1.0.conv1.weight", floats("layer1.0.conv1.weight", 0, 1, Float.NaN));
        m.put("later", floats("later", Float.POSITIVE_INFINITY));
        Path src = tmp.resolve("w.safetensors");
        WeightSet ws = new WeightSet(src, m, Map.of());
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> WeightSets.requireFinite(ws));
        String msg = e.getMessage();
        assertTrue(msg.contains(src.toString()) && msg.contains("\"layer1.0.conv1.weight\"")
                && msg.contains("NaN") && msg.contains("flat index 2"), msg);

        // NaN survives a round trip through a file, and is caught there too
        SafetensorsWriter.write(src, ws, DataType.BF16, Map.of());
        WeightSet back = WeightSets.read(src);
        assertTrue(Float.isNaN(back.entries().get("layer1.0.conv1.weight").floats().data()[2]));
        e = assertThrows(WeightFormatException.class, () -> WeightSets.requireFinite(back));
        assertTrue(e.getMessage().contains(src.toString()), e.getMessage());

        m.remove("layer1.0.conv1.weight");
        e = assertThrows(WeightFormatException.class, () -> WeightSets.requireFinite(new WeightSet(null, m, Map.of())));
        assertTrue(e.getMessage().contains("\"later\"") && e.getMessage().contains("Infinity"), e.getMessage());
        m.remove("later");
        WeightSet fine = new WeightSet(null, m, Map.of());
        assertSame(fine, WeightSets.requireFinite(fine));
    }
}
