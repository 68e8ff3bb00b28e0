package dev.jresnet.tensor;

import dev.jresnet.io.AtomicFile;
import dev.jresnet.io.FileChecks;
import dev.jresnet.io.Limits;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy {@code .npy} files holding float arrays in C order, so that a tensor can be compared with
 * PyTorch on exactly the same input. Reads float32 and float64 (numpy's default dtype, so what {@code np.save} of
 * most computed arrays writes) in either byte order; float64 is rounded to float32 and refused where a finite value
 * lies beyond float32's range (it would become infinite). Writes little-endian float32.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    /** numpy's own limit (NPY_MAXDIMS is 32; 64 since numpy 2). */
    private static final int MAX_RANK = 64;

    private Npy() {}

    /** An array as read: its values as float32, and the dtype the file held ("float32" or "float64"). */
    public record Array(Tensor tensor, String dtype) {}

    /** The array's values as float32 (see {@link #load}). */
    public static Tensor read(Path file) throws IOException {
        return load(file).tensor();
    }

    /**
     * Reads a float32 or float64 C-order array, with its dtype. The file must be a regular file (a link to /dev/zero or a named
     * pipe would never end), its header at most {@link Limits#HEADER_BYTES}, its shape at most
     * {@link Limits#TENSOR_ELEMENTS} elements and the file exactly header + 4 (8) x elements bytes, all checked
     * before the data is allocated.
     */
    public static Array load(Path file) throws IOException {
        FileChecks.requireRegularFile(file, ".npy file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(file, ch, ch.size());
        } catch (EOFException e) {
            throw new IOException(file + ": .npy file ends early (it shrank while being read?)", e);
        }
    }

    private static Array read(Path file, FileChannel ch, long size) throws IOException {
        if (size < 10) {
            throw new IOException(file + ": not a .npy file (" + size + " bytes)");
        }
        ByteBuffer pre = readFully(ch, 0, (int) Math.min(12, size));
        for (int i = 0; i < MAGIC.length; i++) {
            if (pre.get(i) != MAGIC[i]) {
                throw new IOException(file + ": not a .npy file (bad magic)");
            }
        }
        int major = pre.get(6);
        long headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = Short.toUnsignedInt(pre.getShort(8));
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (size < 12) {
                throw new IOException(file + ": truncated .npy header");
            }
            headerLen = Integer.toUnsignedLong(pre.getInt(8));
            headerStart = 12;
        } else {
            throw new IOException(file + ": unsupported .npy version " + major);
        }
        if (headerStart + headerLen > size) {
            throw new IOException(file + ": .npy header length " + headerLen + " exceeds the file size " + size);
        }
        if (!Limits.HEADER_BYTES.allows(headerLen)) {
            throw new IOException(Limits.HEADER_BYTES.exceeded(file + ": .npy header bytes", headerLen));
        }
        String header = StandardCharsets.ISO_8859_1.decode(readFully(ch, headerStart, (int) headerLen)).toString();
        String descr = group(DESCR, header, file, "descr");
        Dtype type = Dtype.of(descr);
        if (type == null) {
            throw new IOException(file + ": .npy dtype " + descr + " (" + numpyName(descr) + ") is not supported: need "
                    + "float32 or float64" + (descr.endsWith("u1") ? " (raw 8-bit image pixels? decode the image file "
                    + "instead, or save the preprocessed float32 tensor)" : " (save arr.astype(np.float32))"));
        }
        if (group(FORTRAN, header, file, "fortran_order").equals("True")) {
            throw new IOException(file + ": Fortran-ordered .npy arrays are not supported (save a C-contiguous array)");
        }
        Shape shape = shape(file, group(SHAPE, header, file, "shape"));
        long dataStart = headerStart + headerLen;
        long need = (long) shape.size() * type.bytes;
        if (size - dataStart != need) {
            throw new IOException(file + ": .npy of shape " + shape + " needs " + need + " data bytes, found "
                    + (size - dataStart));
        }
        float[] data = new float[shape.size()];
        // in chunks, so that a 1 GiB array does not also need a 1 GiB byte buffer
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20).order(type.order);
        int done = 0;
        long pos = dataStart;
        while (done < data.length) {
            chunk.clear().limit((int) Math.min(chunk.capacity(), (long) type.bytes * (data.length - done)));
            while (chunk.hasRemaining()) {
                int n = ch.read(chunk, pos + chunk.position());
                if (n < 0) {
                    throw new EOFException();
                }
            }
            chunk.flip();
            int count = chunk.remaining() / type.bytes;
            if (type.bytes == 4) {
                chunk.asFloatBuffer().get(data, done, count);
            } else {
                for (int i = 0; i < count; i++) {
                    double d = chunk.getDouble();
                    float f = (float) d;
                    if (Float.isInfinite(f) && !Double.isInfinite(d)) {
                        throw new IOException(file + ": float64 value " + d + " at flat index " + (done + i)
                                + " of shape " + shape + " is beyond float32's range (+-3.4e38)");
                    }
                    data[done + i] = f;
                }
            }
            done += count;
            pos += (long) type.bytes * count;
        }
        return new Array(new Tensor(shape, data), type.bytes == 4 ? "float32" : "float64");
    }

    /** The dtypes read: float32 and float64, little- ('<', '=' as numpy writes on x86/ARM) or big-endian ('>'). */
    private record Dtype(int bytes, ByteOrder order) {
        static Dtype of(String descr) {
            if (descr.length() != 3 || descr.charAt(1) != 'f' || (descr.charAt(2) != '4' && descr.charAt(2) != '8')) {
                return null;
            }
            ByteOrder order = switch (descr.charAt(0)) {
                case '<', '=' -> ByteOrder.LITTLE_ENDIAN;
                case '>' -> ByteOrder.BIG_ENDIAN;
                default -> null;
            };
            return order == null ? null : new Dtype(descr.charAt(2) - '0', order);
        }
    }

    /** numpy's name of a descr, for messages: "<i8" is int64, "|u1" uint8, "<f2" float16. */
    private static String numpyName(String descr) {
        if (descr.length() < 3) {
            return "unknown";
        }
        String kind = switch (descr.charAt(1)) {
            case 'f' -> "float";
            case 'i' -> "int";
            case 'u' -> "uint";
            case 'b' -> "bool";
            case 'c' -> "complex";
            default -> null;
        };
        try {
            int bytes = Integer.parseInt(descr.substring(2));
            return kind == null ? "unknown" : kind.equals("bool") ? "bool" : kind + 8 * bytes;
        } catch (NumberFormatException e) {
            return "unknown";
        }
    }

    /** The header's shape "(2, 3)", "(5,)" or "()", refused when over {@link Limits#TENSOR_ELEMENTS} elements. */
    private static Shape shape(Path file, String text) throws IOException {
        List<Integer> dims = new ArrayList<>();
        long n = 1;
        for (String part : text.split(",", MAX_RANK + 2)) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            long d;
            try {
                d = Long.parseLong(p);
            } catch (NumberFormatException e) {
                throw new IOException(file + ": bad .npy shape (" + cut(text) + ")");
            }
            if (d <= 0 || d > Integer.MAX_VALUE) {
                throw new IOException(file + ": .npy shape (" + cut(text) + ") has a dimension of " + d
                        + (d == 0 ? " (empty arrays are not supported)" : ""));
            }
            if (dims.size() == MAX_RANK) {
                throw new IOException(file + ": .npy shape (" + cut(text) + ") has more than " + MAX_RANK + " dimensions");
            }
            dims.add((int) d);
            n = n > Long.MAX_VALUE / d ? Long.MAX_VALUE : n * d; // saturates, never wraps
        }
        if (!Limits.TENSOR_ELEMENTS.allows(n)) {
            throw new IOException(Limits.TENSOR_ELEMENTS.exceeded(file + ": elements of .npy shape (" + cut(text) + ")", n));
        }
        return Shape.of(dims.stream().mapToInt(Integer::intValue).toArray());
    }

    private static String cut(String s) {
        String t = s.strip();
        return t.length() > 80 ? t.substring(0, 80) + "..." : t;
    }

    private static ByteBuffer readFully(FileChannel ch, long pos, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) {
                throw new EOFException();
            }
        }
        return b.flip();
    }

    /** Writes a float32 C-order .npy file, atomically (temporary file, then rename). */
    public static void write(Path file, Tensor t) throws IOException {
        StringBuilder shape = new StringBuilder();
        for (int d : t.shape().dims()) {
            shape.append(d).append(", ");
        }
        if (t.rank() > 1) {
            shape.setLength(shape.length() - 1);
        } else if (t.rank() == 0) {
            shape.setLength(0);
        }
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape.toString().strip() + "), }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer buf = ByteBuffer.allocate(10 + header.length() + t.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        buf.put(header.getBytes(StandardCharsets.ISO_8859_1));
        buf.asFloatBuffer().put(t.data());
        AtomicFile.write(file, tmp -> Files.write(tmp, buf.array()));
    }

    private static String group(Pattern p, String header, Path file, String key) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new IOException(file + ": .npy header has no '" + key + "': " + header.strip());
        }
        return m.group(1);
    }
}
