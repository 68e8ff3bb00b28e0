package dev.jresnet.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The protobuf wire format, reading side: walks the fields of one message. Every length is checked
 * against the bytes that remain, so a truncated or corrupt file is an error, never a crash or a hang.
 */
final class ProtoReader {
    /** One field: its number, wire type, and value (a varint/fixed value, or a slice for length-delimited). */
    record Field(int number, int wireType, long value, ByteBuffer slice) {
        String string() {
            byte[] b = new byte[slice.remaining()];
            slice.duplicate().get(b);
            return new String(b, StandardCharsets.UTF_8);
        }

        ProtoReader message(String what) {
            return new ProtoReader(slice.duplicate(), what);
        }

        float float32() {
            return Float.intBitsToFloat((int) value);
        }
    }

    private final ByteBuffer buf;
    private final String what;

    ProtoReader(ByteBuffer buf, String what) {
        this.buf = buf.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.what = what;
    }

    /** All fields of the message in order. */
    List<Field> fields() throws OnnxFormatException {
        List<Field> list = new ArrayList<>();
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            long key = varint(b);
            int number = (int) (key >>> 3);
            int type = (int) (key & 7);
            if (number <= 0) {
                throw new OnnxFormatException(what + ": invalid field number " + number + " at byte " + b.position());
            }
            switch (type) {
                case 0 -> list.add(new Field(number, type, varint(b), null));
                case 1 -> {
                    need(b, 8);
                    list.add(new Field(number, type, b.getLong(), null));
                }
                case 2 -> {
                    long len = varint(b);
                    if (len < 0 || len > b.remaining()) {
                        throw new OnnxFormatException(what + ": field " + number + " claims " + len
                                + " bytes but only " + b.remaining() + " remain (truncated file?)");
                    }
                    ByteBuffer slice = b.slice().order(ByteOrder.LITTLE_ENDIAN);
                    slice.limit((int) len);
                    b.position(b.position() + (int) len);
                    list.add(new Field(number, type, len, slice));
                }
                case 5 -> {
                    need(b, 4);
                    list.add(new Field(number, type, b.getInt() & 0xffffffffL, null));
                }
                default -> throw new OnnxFormatException(what + ": unsupported protobuf wire type " + type
                        + " for field " + number + " at byte " + b.position());
            }
        }
        return list;
    }

    private void need(ByteBuffer b, int n) throws OnnxFormatException {
        if (b.remaining() < n) {
            throw new OnnxFormatException(what + ": truncated (needed " + n + " bytes, " + b.remaining() + " remain)");
        }
    }

    private long varint(ByteBuffer b) throws OnnxFormatException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            need(b, 1);
            int x = b.get() & 0xff;
            v |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) {
                return v;
            }
        }
        throw new OnnxFormatException(what + ": malformed varint at byte " + b.position());
    }

    /** Packed or unpacked repeated int64 values of a field (ONNX writers use both). */
    static void int64s(Field f, List<Long> into) throws OnnxFormatException {
        if (f.wireType() == 0) {
            into.add(f.value());
        } else if (f.wireType() == 2) {
            ProtoReader r = new ProtoReader(f.slice(), "packed int64s");
            ByteBuffer b = r.buf.duplicate();
            while (b.hasRemaining()) {
                into.add(r.varint(b));
            }
        } else {
            throw new OnnxFormatException("int64 field " + f.number() + " has wire type " + f.wireType());
        }
    }
}
