package dev.jresnet.weights;

import dev.jresnet.io.FileChecks;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading a weight file whatever its format, and checks on what was read. */
public final class WeightSets {
    private WeightSets() {}

    /**
     * Reads a .pth (torch.save zip) or .safetensors file, told apart by content rather than by name, since
     * downloaded weights are often renamed. A missing file, a folder, a named pipe or a device (also behind a link)
     * is refused first, naming the file, since reading one would fail obscurely or never end.
     */
    public static WeightSet read(Path file) throws IOException {
        FileChecks.requireRegularFile(file, "weights file");
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(16);
        }
        if (head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
            return PthReader.read(file);
        }
        // a safetensors header length is followed by the JSON object's '{'
        if (head.length >= 9 && head[8] == '{') {
            return SafetensorsReader.read(file);
        }
        StringBuilder hex = new StringBuilder();
        for (byte b : head) {
            hex.append(String.format("%02x ", b & 0xff));
        }
        throw new WeightFormatException(file + ": neither a torch.save zip (PK\\3\\4) nor safetensors (8-byte length, then '{'); "
                + "first " + head.length + " bytes: " + hex.toString().strip()
                + (head.length > 0 && (head[0] & 0xff) == 0x80 ? " (a bare pickle: the legacy format of"
                        + " PyTorch < 1.6, not supported; re-save it with a newer torch.save)" : ""));
    }

    /** Throws naming the first tensor that holds a NaN or an infinity; returns the set otherwise. */
    public static WeightSet requireFinite(WeightSet weights) throws WeightFormatException {
        for (WeightSet.Entry e : weights.entries().values()) {
            if (e.floats() == null) {
                continue;
            }
            float[] d = e.floats().data();
            for (int i = 0; i < d.length; i++) {
                if (!Float.isFinite(d[i])) {
                    throw new WeightFormatException((weights.source() != null ? weights.source() : "(in memory)")
                            + ": tensor \"" + e.name() + "\" " + e.floats().shape() + " holds " + d[i]
                            + " at flat index " + i);
                }
            }
        }
        return weights;
    }
}
