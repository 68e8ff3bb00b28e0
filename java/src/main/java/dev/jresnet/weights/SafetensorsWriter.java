package dev.jresnet.weights;

import dev.jresnet.io.AtomicFile;

import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Half;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;

import java.nio.file.Path;

import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a WeightSet as .safetensors, tensors in key order. Floating tensors are stored as the chosen float type
 * (rounded to nearest even), integer tensors as I64, whatever type they were read from.
 * The file appears atomically: it is written to a temporary file in the destination's folder and renamed over the
 * destination, so a crash or error never leaves a partial file where a reader would find it.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    public static void write(Path dest, WeightSet weights, DataType floatType, Map<String, String> metadata)
            throws IOException {
        if (floatType != DataType.F32 && floatType != DataType.F16 && floatType != DataType.BF16) {
            throw new IllegalArgumentException("floatType must be F32, F16 or BF16, not " + floatType);
        }
        Map<String, Object> header = new LinkedHashMap<>();
        if (metadata != null) {
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                if (m.getKey() == null || m.getValue() == null) {
                    throw new IllegalArgumentException(dest + ": metadata " + m + " has a null key or value");
                }
            }
        }
        if (metadata != null && !metadata.isEmpty()) {
            header.put("__metadata__", new LinkedHashMap<>(metadata));
        }
        long offset = 0;
        for (WeightSet.Entry e : weights.entries().values()) {
            int n = check(dest, e);
            DataType t = e.floats() != null ? floatType : DataType.I64;
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", t.safetensorsName());
            info.put("shape", Arrays.stream(e.dims()).mapToObj(d -> (Object) (long) d).toList());
            info.put("data_offsets", List.of(offset, offset + (long) n * t.bytes()));
            header.put(e.name(), info);
            offset += (long) n * t.bytes();
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // so the data starts 8-byte aligned
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        AtomicFile.write(dest, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, head);
                ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
                for (WeightSet.Entry e : weights.entries().values()) {
                    if (e.floats() != null) {
                        for (float v : e.floats().data()) {
                            if (buf.remaining() < 4) {
                                flush(ch, buf);
                            }
                            switch (floatType) {
                                case F32 -> buf.putFloat(v);
                                case F16 -> buf.putShort(Half.floatToF16(v));
                                default -> buf.putShort(Half.floatToBf16(v));
                            }
                        }
                    } else {
                        for (long v : e.longs()) {
                            if (buf.remaining() < 8) {
                                flush(ch, buf);
                            }
                            buf.putLong(v);
                        }
                    }
                }
                flush(ch, buf);
                ch.force(true);
            }
        });
    }

    /** Validates an entry before anything is written, so bad input never even creates the temporary file. */
    private static int check(Path dest, WeightSet.Entry e) {
        String at = dest + ": tensor \"" + e.name() + "\": ";
        if (e.name().equals("__metadata__")) {
            throw new IllegalArgumentException(at + "the name __metadata__ is reserved by the format");
        }
        if ((e.floats() == null) == (e.longs() == null)) {
            throw new IllegalArgumentException(at + "exactly one of floats and longs must be set");
        }
        long n = 1;
        for (int d : e.dims()) {
            if (d <= 0) {
                throw new IllegalArgumentException(at + "shape " + Arrays.toString(e.dims()) + " has a non-positive dimension");
            }
            n *= d;
        }
        int have = e.floats() != null ? e.floats().size() : e.longs().length;
        if (n != have) {
            throw new IllegalArgumentException(at + "shape " + Arrays.toString(e.dims()) + " needs " + n
                    + " values, found " + have);
        }
        return have;
    }

    private static void flush(FileChannel ch, ByteBuffer buf) throws IOException {
        buf.flip();
        writeFully(ch, buf);
        buf.clear();
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
