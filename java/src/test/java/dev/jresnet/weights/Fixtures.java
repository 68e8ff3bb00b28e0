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

    /**
     * One entry of {@link #rawZip}: its name, method (0 stored, 8 deflated), the uncompressed size and CRC its headers
     * declare (which may lie), and its data: {@code data}, or {@code sparseLength} bytes left as a hole (zeros that
     * take no disk) when {@code data} is null.
     */
    record RawEntry(String name, int method, long declaredSize, long crc, byte[] data, long sparseLength) {
        long length() {
            return data != null ? data.length : sparseLength;
        }
    }

    /** Writes a zip byte by byte, so that its headers can say what its data is not (java.util.zip would correct them). */
    static Path rawZip(Path file, List<RawEntry> entries) throws IOException {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(0);
            ByteBuffer central = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (RawEntry e : entries) {
                byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
                long offset = f.getFilePointer();
                ByteBuffer local = ByteBuffer.allocate(30 + name.length).order(ByteOrder.LITTLE_ENDIAN);
                local.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) e.method())
                        .putShort((short) 0).putShort((short) 0x21).putInt((int) e.crc()).putInt((int) e.length())
                        .putInt((int) e.declaredSize()).putShort((short) name.length).putShort((short) 0).put(name);
                f.write(local.array());
                if (e.data() != null) {
                    f.write(e.data());
                } else {
                    f.setLength(f.getFilePointer() + e.sparseLength());
                    f.seek(f.getFilePointer() + e.sparseLength());
                }
                central.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0)
                        .putShort((short) e.method()).putShort((short) 0).putShort((short) 0x21).putInt((int) e.crc())
                        .putInt((int) e.length()).putInt((int) e.declaredSize()).putShort((short) name.length)
                        .putShort((short) 0).putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0)
                        .putInt((int) offset).put(name);
            }
            long cdOffset = f.getFilePointer();
            f.write(central.array(), 0, central.position());
            ByteBuffer end = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
            end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) entries.size())
                    .putShort((short) entries.size()).putInt(central.position()).putInt((int) cdOffset).putShort((short) 0);
            f.write(end.array());
        }
        return file;
    }

    /**
     * A raw deflate stream that inflates to {@code mib} MiB of zeros from about a thousandth of that: one fully
     * flushed MiB (which refers to nothing before it) repeated, then an empty final block.
     */
    static byte[] zeroBomb(int mib) {
        java.util.zip.Deflater d = new java.util.zip.Deflater(9, true);
        d.setInput(new byte[1 << 20]);
        ByteArrayOutputStream chunk = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        int n;
        do {
            n = d.deflate(buf, 0, buf.length, java.util.zip.Deflater.FULL_FLUSH);
            chunk.write(buf, 0, n);
        } while (n == buf.length || !d.needsInput());
        d.end();
        byte[] one = chunk.toByteArray();
        ByteArrayOutputStream all = new ByteArrayOutputStream(one.length * mib + 2);
        for (int i = 0; i < mib; i++) {
            all.writeBytes(one);
        }
        all.write(0x03); // final fixed-Huffman block holding only end-of-block
        all.write(0x00);
        return all.toByteArray();
    }

    static byte[] floatsLE(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }
}
