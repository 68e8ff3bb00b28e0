package dev.jresnet.weights;

import dev.jresnet.tensor.DataType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
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

    public static WeightSet read(Path file) throws IOException {
        MappedByteBuffer map;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new WeightFormatException(file + ": " + size + " bytes, shorter than the 8-byte safetensors header length");
            }
            if (size > Integer.MAX_VALUE) {
                throw new WeightFormatException(file + ": " + size + " bytes; files over 2 GiB are not supported");
            }
            map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
        }
        map.order(ByteOrder.LITTLE_ENDIAN);
        long size = map.capacity();
        long n = map.getLong(0);
        if (n < 0 || n > size - 8) {
            throw new WeightFormatException(file + ": safetensors header length " + Long.toUnsignedString(n)
                    + " exceeds the " + (size - 8) + " bytes after the length field (file size " + size + ")");
        }
        byte[] header = new byte[(int) n];
        map.get(8, header);
        Object json;
        try {
            json = Json.parse(header);
        } catch (IllegalArgumentException e) {
            throw new WeightFormatException(file + ": malformed safetensors JSON header: " + e.getMessage(), e);
        }
        if (!(json instanceof Map<?, ?> top)) {
            throw new WeightFormatException(file + ": safetensors header is not a JSON object");
        }
        long dataStart = 8 + n;
        long dataLen = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Info> infos = new ArrayList<>();
        for (Map.Entry<?, ?> e : top.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals("__metadata__")) {
                if (!(e.getValue() instanceof Map<?, ?> m)) {
                    throw new WeightFormatException(file + ": __metadata__ is not a JSON object");
                }
                for (Map.Entry<?, ?> me : m.entrySet()) {
                    if (!(me.getValue() instanceof String v)) {
                        throw new WeightFormatException(file + ": __metadata__ value of \"" + me.getKey()
                                + "\" is " + Json.write(me.getValue()) + ", expected a string");
                    }
                    metadata.put((String) me.getKey(), v);
                }
                continue;
            }
            infos.add(info(file, name, e.getValue(), dataLen));
        }
        List<Info> byBegin = new ArrayList<>(infos);
        byBegin.sort(Comparator.comparingLong(Info::begin));
        for (int i = 1; i < byBegin.size(); i++) {
            Info a = byBegin.get(i - 1);
            Info b = byBegin.get(i);
            if (b.begin < a.end) {
                throw new WeightFormatException(file + ": data_offsets of tensor \"" + b.name + "\" [" + b.begin + ", "
                        + b.end + "] overlap those of \"" + a.name + "\" [" + a.begin + ", " + a.end + "]");
            }
        }
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        ByteBuffer data = map.slice((int) dataStart, (int) dataLen).order(ByteOrder.LITTLE_ENDIAN);
        for (Info t : infos) {
            long[] stride = new long[t.shape.length];
            long s = 1;
            for (int i = stride.length - 1; i >= 0; i--) {
                stride[i] = s;
                s *= t.shape[i];
            }
            entries.put(t.name, Elements.gather(t.name, t.type, t.shape, data, t.begin, stride));
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
        long need = Elements.count(shape) * type.bytes();
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
