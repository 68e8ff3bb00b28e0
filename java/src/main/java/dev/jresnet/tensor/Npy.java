package dev.jresnet.tensor;

import dev.jresnet.io.AtomicFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy {@code .npy} files holding little-endian float32 arrays in C order, so that
 * a tensor can be compared with PyTorch on exactly the same input.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    public static Tensor read(Path file) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IOException(file + ": cannot read .npy file: " + e.getMessage(), e);
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 10) {
            throw new IOException(file + ": not a .npy file (" + bytes.length + " bytes)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw new IOException(file + ": not a .npy file (bad magic)");
            }
        }
        int major = bytes[6];
        int headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = Short.toUnsignedInt(buf.getShort(8));
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) {
                throw new IOException(file + ": truncated .npy header");
            }
            headerLen = buf.getInt(8);
            headerStart = 12;
        } else {
            throw new IOException(file + ": unsupported .npy version " + major);
        }
        if (headerLen < 0 || headerStart + (long) headerLen > bytes.length) {
            throw new IOException(file + ": .npy header length " + headerLen + " exceeds the file size " + bytes.length);
        }
        String header = new String(bytes, headerStart, headerLen, StandardCharsets.ISO_8859_1);
        String descr = group(DESCR, header, file, "descr");
        if (!descr.equals("<f4") && !descr.equals("=f4")) {
            throw new IOException(file + ": .npy dtype " + descr + " is not supported (need little-endian float32 '<f4')");
        }
        if (group(FORTRAN, header, file, "fortran_order").equals("True")) {
            throw new IOException(file + ": Fortran-ordered .npy arrays are not supported (save a C-contiguous array)");
        }
        List<Integer> dims = new ArrayList<>();
        for (String part : group(SHAPE, header, file, "shape").split(",")) {
            String p = part.trim();
            if (!p.isEmpty()) {
                try {
                    dims.add(Integer.parseInt(p));
                } catch (NumberFormatException e) {
                    throw new IOException(file + ": bad .npy shape in header: " + header.strip());
                }
            }
        }
        int[] d = dims.stream().mapToInt(Integer::intValue).toArray();
        Shape shape;
        try {
            shape = Shape.of(d);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage());
        }
        int dataStart = headerStart + headerLen;
        long need = (long) shape.size() * 4;
        if (bytes.length - dataStart != need) {
            throw new IOException(file + ": .npy of shape " + shape + " needs " + need + " data bytes, found "
                    + (bytes.length - dataStart));
        }
        float[] data = new float[shape.size()];
        buf.position(dataStart);
        buf.asFloatBuffer().get(data);
        return new Tensor(shape, data);
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
