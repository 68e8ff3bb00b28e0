package dev.jresnet.weights;

import dev.jresnet.io.FileChecks;
import dev.jresnet.io.Limits;
import dev.jresnet.tensor.DataType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a .safetensors file: an 8-byte little-endian header length, a JSON header
 * (name -> {dtype, shape, data_offsets}, optional __metadata__), then the data. Everything the header claims
 * is checked against the file before any tensor is read, since the header comes from whoever made the file.
 */
public final class SafetensorsReader {
    private SafetensorsReader() {}

    private record Info(String name, DataType type, long[] shape, long begin, long end) {}

    /**
     * Reads {@code file}. Throws {@link WeightFormatException} naming the file (and the tensor) when the header is
     * malformed, claims more than the file holds or more than {@link Limits} allow, or when the file shrinks while
     * it is being read; an IOException naming the file when it is not a readable regular file.
     */
    public static WeightSet read(Path file) throws IOException {
        return read(file, () -> { });
    }

    /**
     * The {@code __metadata__} of {@code file} (empty when it has none), reading the header alone: no tensor data is
     * read or checked. Errors as {@link #read(Path)}'s for the header.
     */
    public static Map<String, String> metadata(Path file) throws IOException {
        FileChecks.requireRegularFile(file, null);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long n = headerLength(file, ch, ch.size());
            return metadata(file, header(file, ch, n));
        }
    }

    /**
     * {@link #read(Path)}, running {@code afterOpen} once the file is open and its size taken: the seam through which
     * a test shrinks the file while it is being read.
     */
    static WeightSet read(Path file, Runnable afterOpen) throws IOException {
        FileChecks.requireRegularFile(file, null);
        // Positional reads, not a memory mapping: a mapped file that another process truncates faults on the next
        // touch of a lost page (java.lang.InternalError from Unsafe, in whatever code touches it), whereas a read
        // past the new end simply returns short, which is checked and reported below.
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            afterOpen.run();
            long n = headerLength(file, ch, size);
            return parse(file, ch, n, size - 8 - n);
        }
    }

    /** The JSON header's length in bytes, checked against the file's {@code size} and the limits. */
    private static long headerLength(Path file, FileChannel ch, long size) throws IOException {
        if (size < 8) {
            throw new WeightFormatException(file + ": " + size + " bytes, shorter than the 8-byte safetensors header length");
        }
        long n = readFully(file, ch, 0, 8, "the header length").order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (n < 0 || n > size - 8) {
            throw new WeightFormatException(file + ": safetensors header length " + Long.toUnsignedString(n)
                    + " exceeds the " + (size - 8) + " bytes after the length field (file size " + size + ")");
        }
        if (!Limits.HEADER_BYTES.allows(n)) {
            throw new WeightFormatException(Limits.HEADER_BYTES.exceeded(file + ": safetensors header length", n));
        }
        return n;
    }

    private static Map<?, ?> header(Path file, FileChannel ch, long headerBytes) throws IOException {
        Object json;
        try {
            json = Json.parse(readFully(file, ch, 8, (int) headerBytes, "the JSON header").array());
        } catch (IllegalArgumentException e) {
            throw new WeightFormatException(file + ": malformed safetensors JSON header: " + e.getMessage(), e);
        }
        if (!(json instanceof Map<?, ?> top)) {
            throw new WeightFormatException(file + ": safetensors header is not a JSON object");
        }
        return top;
    }

    private static Map<String, String> metadata(Path file, Map<?, ?> top) throws WeightFormatException {
        Map<String, String> metadata = new LinkedHashMap<>();
        if (!top.containsKey("__metadata__")) {
            return metadata;
        }
        if (!(top.get("__metadata__") instanceof Map<?, ?> m)) {
            throw new WeightFormatException(file + ": __metadata__ is not a JSON object");
        }
        for (Map.Entry<?, ?> me : m.entrySet()) {
            if (!(me.getValue() instanceof String v)) {
                throw new WeightFormatException(file + ": __metadata__ value of \"" + me.getKey()
                        + "\" is " + Json.write(me.getValue()) + ", expected a string");
            }
            metadata.put((String) me.getKey(), v);
        }
        return metadata;
    }

    private static WeightSet parse(Path file, FileChannel ch, long headerBytes, long dataLen) throws IOException {
        Map<?, ?> top = header(file, ch, headerBytes);
        Map<String, String> metadata = metadata(file, top);
        List<Info> infos = new ArrayList<>();
        for (Map.Entry<?, ?> e : top.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals("__metadata__")) {
                continue;
            }
            infos.add(info(file, name, e.getValue(), dataLen));
        }
        List<Info> byBegin = new ArrayList<>(infos);
        byBegin.sort(Comparator.comparingLong(Info::begin));
        long largest = 0;
        for (int i = 0; i < byBegin.size(); i++) {
            Info b = byBegin.get(i);
            largest = Math.max(largest, b.end - b.begin);
            Info a = i > 0 ? byBegin.get(i - 1) : null;
            if (a != null && b.begin < a.end) {
                throw new WeightFormatException(file + ": data_offsets of tensor \"" + b.name + "\" [" + b.begin + ", "
                        + b.end + "] overlap those of \"" + a.name + "\" [" + a.begin + ", " + a.end + "]");
            }
        }
        // Every tensor is now known to lie inside the file and within the limits: one buffer as large as the largest
        // (at most TENSOR_ELEMENTS x 8 bytes, and at most the file) serves them all.
        ByteBuffer buf = ByteBuffer.allocate((int) largest).order(ByteOrder.LITTLE_ENDIAN);
        long dataStart = 8 + headerBytes;
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        for (Info t : infos) {
            long[] stride = new long[t.shape.length];
            long s = 1;
            for (int i = stride.length - 1; i >= 0; i--) {
                stride[i] = s;
                s *= t.shape[i];
            }
            buf.clear().limit((int) (t.end - t.begin));
            read(file, ch, dataStart + t.begin, buf, "tensor \"" + t.name + "\"");
            entries.put(t.name, Elements.gather(t.name, t.type, t.shape, buf, 0, stride));
        }
        return new WeightSet(file, entries, metadata);
    }

    private static Info info(Path file, String name, Object v, long dataLen) throws WeightFormatException {
        String at = file + ": tensor \"" + name + "\": ";
        if (!(v instanceof Map<?, ?> m)) {
            throw new WeightFormatException(at + "header entry is " + Json.write(v) + ", expected an object");
        }
        if (!(m.get("dtype") instanceof String dt)) {
            throw new WeightFormatException(at + "dtype is " + Json.write(m.get("dtype")) + ", expected a string");
        }
        DataType type;
        try {
            type = DataType.fromSafetensors(dt);
        } catch (IllegalArgumentException e) {
            throw new WeightFormatException(at + "unknown dtype \"" + dt + "\", expected one of "
                    + Arrays.toString(DataType.values()));
        }
        long[] shape = longs(at, "shape", m.get("shape"), -1);
        long[] off = longs(at, "data_offsets", m.get("data_offsets"), 2);
        String bad = Elements.checkDims(shape);
        if (bad != null) {
            throw new WeightFormatException(at + bad);
        }
        long count = Elements.count(shape);
        if (!Limits.TENSOR_ELEMENTS.allows(count)) {
            throw new WeightFormatException(Limits.TENSOR_ELEMENTS.exceeded(at + "shape " + Arrays.toString(shape)
                    + " elements", count));
        }
        long need = count * type.bytes();
        if (need > Integer.MAX_VALUE - 8) { // one Java array holds a tensor's bytes while it is converted
            throw new WeightFormatException(at + "shape " + Arrays.toString(shape) + " of " + type + " spans " + need
                    + " bytes; a tensor may span at most 2 GiB");
        }
        if (off[0] < 0 || off[1] < off[0] || off[1] > dataLen) {
            throw new WeightFormatException(at + "data_offsets [" + off[0] + ", " + off[1]
                    + "] out of range: the data section holds " + dataLen + " bytes");
        }
        if (off[1] - off[0] != need) {
            throw new WeightFormatException(at + "data_offsets [" + off[0] + ", " + off[1] + "] span " + (off[1] - off[0])
                    + " bytes, expected " + need + " for shape " + Arrays.toString(shape) + " of " + type);
        }
        return new Info(name, type, shape, off[0], off[1]);
    }

    /** {@code n} bytes at {@code pos}, or a WeightFormatException when the file now ends before them. */
    private static ByteBuffer readFully(Path file, FileChannel ch, long pos, int n, String what) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        read(file, ch, pos, b, what);
        return b;
    }

    /** Fills {@code dst} (position to limit) from {@code pos} on, then flips it for reading. */
    private static void read(Path file, FileChannel ch, long pos, ByteBuffer dst, String what) throws IOException {
        long at = pos;
        while (dst.hasRemaining()) {
            int r = ch.read(dst, at);
            if (r < 0) {
                throw new WeightFormatException(file + ": " + what + " (bytes " + pos + " to " + (pos + dst.limit())
                        + ") lies past the end of the file, now " + ch.size()
                        + " bytes: the file changed while it was being read");
            }
            at += r;
        }
        dst.flip();
    }

    private static long[] longs(String at, String what, Object v, int length) throws WeightFormatException {
        if (!(v instanceof List<?> l) || (length >= 0 && l.size() != length)) {
            throw new WeightFormatException(at + what + " is " + Json.write(v) + ", expected "
                    + (length >= 0 ? length + " " : "a list of ") + "non-negative integers");
        }
        long[] r = new long[l.size()];
        for (int i = 0; i < r.length; i++) {
            if (!(l.get(i) instanceof Long x) || x < 0) {
                throw new WeightFormatException(at + what + " is " + Json.write(v) + ", expected non-negative integers");
            }
            r[i] = x;
        }
        return r;
    }
}
