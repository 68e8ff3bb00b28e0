package dev.jresnet.cli;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.BufferedOutputStream;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * Where {@code jresnet embed} streams its vectors, one per input in order, into temporary files that the caller
 * renames into place ({@link dev.jresnet.io.AtomicFile}) once every input was read: nothing is held in memory but a
 * write buffer, so millions of images embed in a bounded heap.
 */
interface EmbeddingSink extends AutoCloseable {
    void add(String path, float[] vector) throws IOException;

    /** Completes the files (the .npy header's final row count); not called when the run fails. */
    void finish() throws IOException;

    @Override
    void close() throws IOException;

    /**
     * A float32 [N, D] .npy whose header is written first with room for any N and rewritten in place at the end,
     * and the input paths, one per line (UTF-8, control characters escaped as the CLI prints them), row i of the
     * array being line i.
     */
    final class Npy implements EmbeddingSink {
        /** Header bytes, magic to '\n': a multiple of 64 (numpy's alignment) that holds any row count a long can. */
        private static final int HEADER_BYTES = 128;
        private final FileChannel channel;
        private final OutputStream data;
        private final Writer paths;
        private final int dim;
        private final ByteBuffer row;
        private long rows;

        Npy(Path array, Path pathList, int dim) throws IOException {
            this.dim = dim;
            this.channel = FileChannel.open(array, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            channel.write(header(0, dim));
            this.data = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
            this.paths = Files.newBufferedWriter(pathList, StandardCharsets.UTF_8);
            this.row = ByteBuffer.allocate(4 * dim).order(ByteOrder.LITTLE_ENDIAN);
        }

        /** numpy's v1.0 header for a float32 C-order [rows, dim], padded with spaces to {@link #HEADER_BYTES}. */
        static ByteBuffer header(long rows, int dim) {
            String dict = String.format(Locale.ROOT, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }",
                    rows, dim);
            int len = HEADER_BYTES - 10;
            ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0)
                    .putShort((short) len);
            b.put((dict + " ".repeat(len - dict.length() - 1) + "\n").getBytes(StandardCharsets.US_ASCII));
            return b.flip();
        }

        @Override
        public void add(String path, float[] vector) throws IOException {
            if (vector.length != dim) {
                throw new IllegalStateException("a vector of " + vector.length + " floats in a [N, " + dim + "] array");
            }
            row.clear();
            row.asFloatBuffer().put(vector);
            data.write(row.array());
            paths.write(Terminal.safe(path));  // a line break in a name would split its line
            paths.write('\n');
            rows++;
        }

        @Override
        public void finish() throws IOException {
            data.flush();
            paths.flush();
            channel.write(header(rows, dim), 0);
        }

        @Override
        public void close() throws IOException {
            try (channel; paths) {
                data.close();
            }
        }
    }

    /** One JSON object per line, {"path": "...", "embedding": [...]}: floats as Java's shortest round-trip form. */
    final class Jsonl implements EmbeddingSink {
        private final Writer out;
        private final JsonGenerator g;

        Jsonl(Path file) throws IOException {
            this.out = new BufferedWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8), 1 << 16);
            this.g = Terminal.jsonMapper().getFactory().createGenerator(out);
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.setRootValueSeparator(null);
        }

        @Override
        public void add(String path, float[] vector) throws IOException {
            g.writeStartObject();
            g.writeStringField("path", path);
            g.writeArrayFieldStart("embedding");
            for (float v : vector) {
                g.writeNumber(v);
            }
            g.writeEndArray();
            g.writeEndObject();
            g.flush();
            out.write('\n');
        }

        @Override
        public void finish() throws IOException {
            g.flush();
            out.flush();
        }

        @Override
        public void close() throws IOException {
            try (out) {
                g.close();
            }
        }
    }
}
