package dev.jresnet.tensor;

import dev.jresnet.testing.HostileFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** .npy files, honest and hostile (made here): hostile ones are refused in seconds, in one line naming the file. */
class NpyTest {
    @TempDir
    Path tmp;

    /** A version-{@code major} .npy holding {@code header} (padded) followed by {@code dataBytes} bytes of zeros (a hole). */
    private Path npy(String name, int major, String header, long dataBytes) throws IOException {
        int pre = major == 1 ? 10 : 12;
        StringBuilder h = new StringBuilder(header);
        while ((pre + h.length() + 1) % 64 != 0) {
            h.append(' ');
        }
        byte[] text = h.append('\n').toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(pre + text.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) {
            b.putShort((short) text.length);
        } else {
            b.putInt(text.length);
        }
        b.put(text);
        Path f = tmp.resolve(name);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(b.array());
            raf.setLength(b.capacity() + dataBytes);
        }
        return f;
    }

    private static String refused(Path file, String... fragments) {
        return HostileFiles.refused(file, () -> Npy.read(file), fragments);
    }

    /** A version-1 .npy of {@code descr} and {@code shape} holding {@code data}. */
    private Path npyWith(String name, String descr, String shape, byte[] data) throws IOException {
        Path f = npy(name, 1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }", 0);
        java.nio.file.Files.write(f, data, java.nio.file.StandardOpenOption.APPEND);
        return f;
    }

    /** numpy's default dtype is float64 (np.save(np.zeros(...)), np.random.rand): read, rounded to float32. */
    @Test
    void float64AndBigEndianFloat32AreRead() throws IOException {
        double[] values = {0.1, -2.5, 1e-30, 3.0e38};
        ByteBuffer le = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer be = ByteBuffer.allocate(32).order(ByteOrder.BIG_ENDIAN);
        ByteBuffer be4 = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN);
        float[] expected = new float[4];
        for (int i = 0; i < 4; i++) {
            le.putDouble(values[i]);
            be.putDouble(values[i]);
            expected[i] = (float) values[i];
            be4.putFloat(expected[i]);
        }
        Npy.Array a = Npy.load(npyWith("f8.npy", "<f8", "(2, 2)", le.array()));
        org.junit.jupiter.api.Assertions.assertEquals("float64", a.dtype());
        assertArrayEquals(new int[] {2, 2}, a.tensor().shape().dims());
        assertArrayEquals(expected, a.tensor().data());
        assertArrayEquals(expected, Npy.read(npyWith("f8be.npy", ">f8", "(4,)", be.array())).data());
        Npy.Array b = Npy.load(npyWith("f4be.npy", ">f4", "(4,)", be4.array()));
        org.junit.jupiter.api.Assertions.assertEquals("float32", b.dtype());
        assertArrayEquals(expected, b.tensor().data());
    }

    @Test
    void float64BeyondFloat32AndOtherDtypesAreRefused() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(1).putDouble(-1e300);
        refused(npyWith("huge.npy", "<f8", "(2,)", b.array()),
                "float64 value -1.0E300 at flat index 1 of shape [2] is beyond float32's range");
        refused(npyWith("u8.npy", "|u1", "(2, 2, 3)", new byte[12]), "dtype |u1 (uint8) is not supported",
                "raw 8-bit image pixels?");
        refused(npyWith("i8.npy", "<i8", "(1,)", new byte[8]), "dtype <i8 (int64) is not supported",
                "arr.astype(np.float32)");
    }

    @Test
    void roundTrip() throws IOException {
        Tensor t = new Tensor(Shape.of(2, 3), new float[] {1, 2, 3, 4, 5, -6});
        Path f = tmp.resolve("t.npy");
        Npy.write(f, t);
        Tensor back = Npy.read(f);
        assertArrayEquals(t.shape().dims(), back.shape().dims());
        assertArrayEquals(t.data(), back.data());
        Path v2 = npy("v2.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12);
        assertArrayEquals(new float[3], Npy.read(v2).data());
    }

    @Test
    void threeGigabyteArrayIsRefusedByItsHeaderWithoutReadingIt() throws IOException {
        // a sparse 3 GiB file, honest about its size: readAllBytes used to try to hold it all
        long n = 3L << 28;
        Path f = npy("big.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (" + n + ",), }", 4 * n);
        refused(f, "elements of .npy shape (" + n + ",): " + n + " exceeds the limit of 268435456",
                "jresnet.limit.tensorElements");
    }

    @Test
    void shapeThatTheFileDoesNotHoldIsRefusedBeforeAllocating() throws IOException {
        Path f = npy("short.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (10000, 10000), }", 16);
        refused(f, "needs 400000000 data bytes, found 16");
        Path absurd = npy("absurd.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", 16);
        refused(absurd, "dimension of 99999999999");
        Path negative = npy("negative.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4), }", 16);
        refused(negative, "dimension of -1");
    }

    @Test
    void headerLengthIsBounded() throws IOException {
        Path longer = npy("header.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4);
        try (RandomAccessFile raf = new RandomAccessFile(longer.toFile(), "rw")) {
            raf.seek(8);
            raf.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x7f}); // 2 GiB of header
        }
        refused(longer, "header length 2147483647 exceeds the file size");
        String key = "jresnet.limit.headerBytes";
        System.setProperty(key, "32");
        try {
            refused(npy("limit.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4),
                    ".npy header bytes: 118 exceeds the limit of 32");
        } finally {
            System.clearProperty(key);
        }
    }

    @Test
    void missingFolderDeviceAndPipeAreRefused() throws Exception {
        HostileFiles.nonFilesAreRefused(tmp, "npy", f -> () -> Npy.read(f));
    }
}
