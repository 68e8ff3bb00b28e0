package dev.jresnet.weights;

import dev.jresnet.testing.PyTorchReference;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Test helpers: the torch-written fixtures of weights/reference/pth_fixtures.py, and hand-made pickles and zips. */
final class Fixtures {
    private Fixtures() {}

    private static Path dir;

    /** Runs pth_fixtures.py once per JVM (skips the test where torch is missing) and returns its output folder. */
    static synchronized Path torchFixtures() throws IOException {
        if (dir == null) {
            Path d = PyTorchReference.scratch("weights-fixtures");
            PyTorchReference.run("pth_fixtures.py", d.toString());
            dir = d;
        }
        return dir;
    }

    /** One tensor as pth_fixtures.py dumped it. */
    record Expected(String name, String dtype, int[] dims, double[] floats, long[] longs) {}

    static List<Expected> expected(Path dir, String name) throws IOException {
        Object json = Json.parse(Files.readAllBytes(dir.resolve(name + ".json")));
        ByteBuffer bin = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(name + ".bin"))).order(ByteOrder.LITTLE_ENDIAN);
        List<Expected> r = new ArrayList<>();
        for (Object o : (List<?>) json) {
            Map<?, ?> m = (Map<?, ?>) o;
            List<?> shape = (List<?>) m.get("shape");
            int[] dims = shape.stream().mapToInt(x -> ((Long) x).intValue()).toArray();
            int n = 1;
            for (int x : dims) {
                n *= x;
            }
            int off = ((Long) m.get("offset")).intValue() * 8;
            String dtype = (String) m.get("dtype");
            boolean floating = dtype.startsWith("float") || dtype.startsWith("bfloat");
            double[] f = floating ? new double[n] : null;
            long[] l = floating ? null : new long[n];
            for (int i = 0; i < n; i++) {
                if (floating) {
                    f[i] = bin.getDouble(off + 8 * i);
                } else {
                    l[i] = bin.getLong(off + 8 * i);
                }
            }
            r.add(new Expected((String) m.get("name"), dtype, dims, f, l));
        }
        return r;
    }

    /** Asserts the set holds exactly the expected tensors, in order, value for value (floats bit-exact after widening). */
    static void assertMatches(List<Expected> expected, WeightSet ws) {
        assertEquals(expected.stream().map(Expected::name).toList(), List.copyOf(ws.entries().keySet()));
        for (Expected x : expected) {
            WeightSet.Entry e = ws.entries().get(x.name());
            assertEquals(x.name(), e.name());
            assertArrayEquals(x.dims(), e.dims(), x.name());
            if (x.floats() != null) {
                assertNull(e.longs(), x.name());
                assertNotNull(e.floats(), x.name());
                assertArrayEquals(x.dims(), e.floats().shape().dims(), x.name());
                float[] got = e.floats().data();
                assertEquals(x.floats().length, got.length, x.name());
                for (int i = 0; i < got.length; i++) {
                    assertEquals((float) x.floats()[i], got[i], 0f, x.name() + "[" + i + "]");
                }
            } else {
                assertNull(e.floats(), x.name());
                assertArrayEquals(x.longs(), e.longs(), x.name());
            }
        }
    }

    /** Builds pickle opcodes by hand, for archives torch would never write. */
    static final class Pickle {
        private final ByteArrayOutputStream b = new ByteArrayOutputStream();

        Pickle op(int... bytes) {
            for (int x : bytes) {
                b.write(x);
            }
            return this;
        }

        Pickle str(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            op('X', u.length, u.length >> 8, u.length >> 16, u.length >> 24);
            b.writeBytes(u);
            return this;
        }

        Pickle global(String module, String name) {
            b.write('c');
            b.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
            return this;
        }

        Pickle int1(int v) {
            return op('K', v);
        }

        Pickle ints(long... v) {
            op('(');
            for (long x : v) {
                op('J', (int) x, (int) (x >> 8), (int) (x >> 16), (int) (x >> 24));
            }
            return op('t');
        }

        byte[] bytes() {
            return b.toByteArray();
        }
    }

    /** A state_dict pickle of float tensors {name: (storage key, numel, offset, size, stride)} with given storage type. */
    static byte[] stateDictPickle(String storageType, Object[]... tensors) {
        Pickle p = new Pickle().op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(');
        for (Object[] t : tensors) {
            p.str((String) t[0]).global("torch._utils", "_rebuild_tensor_v2").op('(')
                    .op('(').str("storage").global("torch", storageType).str((String) t[1]).str("cpu")
                    .op('J', (int) t[2], (int) t[2] >> 8, (int) t[2] >> 16, (int) t[2] >> 24).op('t', 'Q')
                    .op('J', (int) t[3], 0, 0, 0)
                    .ints((long[]) t[4]).ints((long[]) t[5]).op(0x89)
                    .global("collections", "OrderedDict").op(')', 'R', 't', 'R');
        }
        return p.op('u', '.').bytes();
    }

    /** Writes a zip of stored (uncompressed) entries, as torch.save does; names map to contents in order. */
    static Path zip(Path file, Map<String, byte[]> entries) throws IOException {
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(file))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setMethod(ZipEntry.STORED);
                ze.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                ze.setCrc(crc.getValue());
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return file;
    }

    static byte[] floatsLE(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }
}
