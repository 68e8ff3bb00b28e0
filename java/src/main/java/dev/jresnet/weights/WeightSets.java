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
            WeightSet set = SafetensorsReader.read(file);
            if (set.metadata().containsKey(CHECKPOINT_KEY)) {
                throw new TrainingCheckpointException(file + ": a training checkpoint (the model's weights with the "
                        + "optimizer's state and training progress, for resuming fine-tuning), not a model: load the "
                        + "model file that fine-tuning wrote (FineTuneOptions' output), or resume from it "
                        + "(FineTuneOptions.Builder.resume)", file);
            }
            return set;
        }
        String other = notWeights(head);
        if (other != null) {
            throw new WeightFormatException(file + ": " + other + ", not a weights file (.pth, .safetensors or .onnx)");
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

    /**
     * The metadata key of a training checkpoint (train.Checkpoint.META_FORMAT; this package lies below train): such a
     * file is safetensors but holds optimizer state beside the model.
     */
    static final String CHECKPOINT_KEY = "jresnet.checkpoint";

    /** What a file given as weights is when its first bytes say it is an image or a NumPy array, else null. */
    private static String notWeights(byte[] h) {
        if (h.length >= 8 && (h[0] & 0xff) == 0x89 && h[1] == 'P' && h[2] == 'N' && h[3] == 'G') {
            return "a PNG image";
        }
        if (h.length >= 3 && (h[0] & 0xff) == 0xff && (h[1] & 0xff) == 0xd8 && (h[2] & 0xff) == 0xff) {
            return "a JPEG image";
        }
        String ascii = new String(h, 0, Math.min(h.length, 6), java.nio.charset.StandardCharsets.ISO_8859_1);
        if (ascii.startsWith("GIF8")) {
            return "a GIF image";
        }
        if (ascii.startsWith("II*\0") || ascii.startsWith("MM\0*")) {
            return "a TIFF image";
        }
        if (ascii.startsWith("BM")) {
            return "a BMP image";
        }
        if (ascii.equals("\u0093NUMPY")) {
            return "a NumPy .npy array";
        }
        return null;
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
