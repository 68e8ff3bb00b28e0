package dev.jresnet.onnx;

import dev.jresnet.io.Limits;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The protobuf wire format, reading side: walks the fields of one message, one at a time ({@link #next}), so that
 * nothing is kept of the fields the caller skips. The bytes come from the file through positional reads, not a memory
 * mapping: a mapped file that another process truncates faults on the next touch of a lost page
 * ({@code java.lang.InternalError} in whatever code touches it), whereas a read past the new end returns short and is
 * reported here as a file that changed while it was being read.
 *
 * <p>Every length is checked against the bytes that remain of the enclosing message before anything is read or
 * allocated; varints are at most 10 bytes and lengths never negative; nesting is bounded by
 * {@link Limits#NESTING_DEPTH}; strings by {@link Limits#HEADER_BYTES}.
 */
final class ProtoReader {
    /** The largest protobuf field number (2^29 - 1). */
    private static final long MAX_FIELD = (1L << 29) - 1;

    /**
     * One field: its number, wire type and value (a varint or fixed value; for a length-delimited field, its length,
     * with its bytes at {@code offset} in the file, read only when asked for).
     */
    record Field(int number, int wireType, long value, long offset, ProtoReader in) {
        boolean delimited() {
            return wireType == 2;
        }

        /** The field's bytes as UTF-8 (malformed sequences replaced); at most {@link Limits#HEADER_BYTES}. */
        String string() throws IOException {
            requireDelimited("a string");
            if (!Limits.HEADER_BYTES.allows(value)) {
                throw new OnnxFormatException(Limits.HEADER_BYTES.exceeded(in.what + ": string field " + number
                        + " bytes", value));
            }
            ByteBuffer b = ByteBuffer.allocate((int) value);
            in.src.read(offset, b, in.what + " field " + number);
            return new String(b.array(), StandardCharsets.UTF_8);
        }

        /** The field as an embedded message, one level deeper. */
        ProtoReader message(String what) throws IOException {
            requireDelimited("a message");
            if (in.depth + 1 > Limits.NESTING_DEPTH.value()) {
                throw new OnnxFormatException(Limits.NESTING_DEPTH.exceeded(what + ": protobuf nesting", in.depth + 1));
            }
            return new ProtoReader(in.src, offset, offset + value, what, in.depth + 1);
        }

        float float32() throws OnnxFormatException {
            if (wireType != 5) {
                throw new OnnxFormatException(in.what + ": field " + number + " has wire type " + wireType
                        + ", expected a 32-bit float (5)");
            }
            return Float.intBitsToFloat((int) value);
        }

        /**
         * Fills {@code into} from the field's bytes, little-endian floats (raw_data, packed float_data); the caller has
         * checked that the field holds exactly {@code into.length * 4} bytes. Reads in chunks, so no second array as
         * large as the tensor is needed.
         */
        void floats(float[] into, int from, String what) throws IOException {
            requireDelimited("packed floats");
            ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(value, 1 << 20)).order(ByteOrder.LITTLE_ENDIAN);
            long pos = offset;
            int k = from;
            for (long left = value; left > 0; ) {
                chunk.clear().limit((int) Math.min(left, chunk.capacity()));
                in.src.read(pos, chunk, what);
                int n = chunk.remaining() / 4;
                chunk.asFloatBuffer().get(into, k, n);
                k += n;
                pos += chunk.limit();
                left -= chunk.limit();
            }
        }

        private void requireDelimited(String as) throws OnnxFormatException {
            if (wireType != 2) {
                throw new OnnxFormatException(in.what + ": field " + number + " has wire type " + wireType
                        + ", expected " + as + " (length-delimited, 2)");
            }
        }
    }

    /**
     * The file, read through positional reads with a small window for the varints and keys; its size is taken once,
     * at open, and every range is checked against it, so a short read means the file shrank since.
     */
    static final class Source {
        private final Path file;
        private final FileChannel ch;
        private final long size;
        private final ByteBuffer window = ByteBuffer.allocate(64 << 10);
        private long windowStart;

        Source(Path file, FileChannel ch, long size) {
            this.file = file;
            this.ch = ch;
            this.size = size;
            window.limit(0);
        }

        long size() {
            return size;
        }

        byte at(long pos, String what) throws IOException {
            long i = pos - windowStart;
            if (i < 0 || i >= window.limit()) {
                window.clear();
                windowStart = pos;
                int r = ch.read(window, pos);
                window.flip();
                if (r <= 0) {
                    throw changed(pos, 1, what);
                }
                i = 0;
            }
            return window.get((int) i);
        }

        /** Fills {@code dst} (position to limit) from {@code pos}, then flips it for reading. */
        void read(long pos, ByteBuffer dst, String what) throws IOException {
            long at = pos;
            int want = dst.remaining();
            while (dst.hasRemaining()) {
                int r = ch.read(dst, at);
                if (r < 0) {
                    throw changed(pos, want, what);
                }
                at += r;
            }
            dst.flip();
        }

        private OnnxFormatException changed(long pos, long n, String what) throws IOException {
            return new OnnxFormatException(what + " (bytes " + pos + " to " + (pos + n) + ") lies past the end of "
                    + file + ", now " + ch.size() + " bytes (" + size + " when opened): the file changed while it was"
                    + " being read");
        }
    }

    private final Source src;
    private final long start;
    private final long end; // exclusive
    private final String what;
    private final int depth;
    private long pos;

    private ProtoReader(Source src, long start, long end, String what, int depth) {
        this.src = src;
        this.start = start;
        this.end = end;
        this.what = what;
        this.depth = depth;
        this.pos = start;
    }

    /** The whole file as one message (ONNX's ModelProto). */
    static ProtoReader of(Source src, String what) {
        return new ProtoReader(src, 0, src.size(), what, 0);
    }

    /** The same message read again from its first field. */
    ProtoReader again() {
        return new ProtoReader(src, start, end, what, depth);
    }

    /** The next field, or null at the end of the message. */
    Field next() throws IOException {
        if (pos >= end) {
            return null;
        }
        long at = pos;
        long key = varint();
        long number = key >>> 3;
        int type = (int) (key & 7);
        if (number <= 0 || number > MAX_FIELD) {
            throw new OnnxFormatException(what + ": invalid field number " + number + " at byte " + at
                    + " (not a protobuf message, or corrupt)");
        }
        int n = (int) number;
        switch (type) {
            case 0:
                return new Field(n, type, varint(), -1, this);
            case 1:
                return new Field(n, type, fixed(8), -1, this);
            case 2: {
                long len = varint();
                if (len < 0 || len > end - pos) {
                    throw new OnnxFormatException(what + ": field " + n + " at byte " + at + " claims "
                            + (len < 0 ? Long.toUnsignedString(len) : len) + " bytes but only " + (end - pos)
                            + " remain (truncated file?)");
                }
                Field f = new Field(n, type, len, pos, this);
                pos += len;
                return f;
            }
            case 5:
                return new Field(n, type, fixed(4), -1, this);
            default:
                throw new OnnxFormatException(what + ": unsupported protobuf wire type " + type + " for field " + n
                        + " at byte " + at);
        }
    }

    private long fixed(int bytes) throws IOException {
        if (end - pos < bytes) {
            throw new OnnxFormatException(what + ": truncated (needed " + bytes + " bytes at byte " + pos + ", "
                    + (end - pos) + " remain)");
        }
        long v = 0;
        for (int i = 0; i < bytes; i++) {
            v |= (long) (src.at(pos++, what) & 0xff) << (8 * i);
        }
        return v;
    }

    /** A base-128 varint of at most 10 bytes, the tenth holding only bit 63. */
    private long varint() throws IOException {
        long at = pos;
        long v = 0;
        for (int i = 0; i < 10; i++) {
            if (pos >= end) {
                throw new OnnxFormatException(what + ": truncated varint at byte " + at);
            }
            int x = src.at(pos++, what) & 0xff;
            if (i == 9 && x > 1) {
                break;
            }
            v |= (long) (x & 0x7f) << (7 * i);
            if ((x & 0x80) == 0) {
                return v;
            }
        }
        throw new OnnxFormatException(what + ": malformed varint at byte " + at + " (more than 64 bits)");
    }

    /** Takes one value; may refuse it (a bound reached) by throwing. */
    @FunctionalInterface
    interface LongSink {
        void accept(long v) throws IOException;
    }

    /**
     * Packed or unpacked repeated int64 values of a field (ONNX writers use both), each given to {@code into} as it
     * is read, so that the sink can refuse one before a packed field of millions has been read.
     */
    static void int64s(Field f, LongSink into) throws IOException {
        if (f.wireType() == 0) {
            into.accept(f.value());
        } else if (f.delimited()) {
            ProtoReader r = new ProtoReader(f.in.src, f.offset, f.offset + f.value, f.in.what + " packed int64s",
                    f.in.depth);
            while (r.pos < r.end) {
                into.accept(r.varint());
            }
        } else {
            throw new OnnxFormatException(f.in.what + ": int64 field " + f.number() + " has wire type " + f.wireType());
        }
    }
}
