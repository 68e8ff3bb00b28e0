package dev.jresnet.finetune;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Which images of which folder a model was fine-tuned and validated on, as {@link FineTuner} records it in the
 * model's metadata ({@link #META}), so that {@link Evaluator#select} can evaluate the validation images alone.
 *
 * @param data        the data folder, absolute (real path where it existed)
 * @param folders     true: {@code data/train} and {@code data/val} were the split; false: a stratified split of
 *                    {@code data} by {@code valFraction} and {@code seed}
 * @param valFraction the share of each class held out (0: every image trained, no validation)
 * @param trainImages how many training images the split had
 * @param valImages   how many validation images the split had
 */
public record DataSplit(Path data, boolean folders, double valFraction, long seed, int trainImages, int valImages) {
    /** Metadata key of the fine-tuning's split: {@code key=value} lines. */
    public static final String META = "jresnet.finetune.split";

    public DataSplit {
        if (data == null) {
            throw new IllegalArgumentException("data must not be null");
        }
    }

    /** The split a run on {@code data} makes, with its folder resolved to an absolute (real) path. */
    static DataSplit of(Path data, boolean folders, double valFraction, long seed, int train, int val) {
        return new DataSplit(absolute(data), folders, valFraction, seed, train, val);
    }

    /** {@code p} as a real path when it exists, else absolute and normalised. */
    static Path absolute(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    /** Whether {@code folder} is this split's data folder (by any path). */
    public boolean isDataFolder(Path folder) {
        try {
            return Files.isSameFile(data, folder);
        } catch (IOException e) {
            return data.equals(absolute(folder));
        }
    }

    /** The split in words: "fraction 0.2, seed 0" or "DATA/train and DATA/val". */
    public String describe() {
        return folders ? data.resolve("train") + " and " + data.resolve("val")
                : String.format(Locale.ROOT, "fraction %s, seed %d", valFraction, seed);
    }

    String encode() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("data", data.toString());
        m.put("kind", folders ? "folders" : "fraction");
        m.put("val_fraction", Double.toString(valFraction));
        m.put("seed", Long.toString(seed));
        m.put("train_images", Integer.toString(trainImages));
        m.put("val_images", Integer.toString(valImages));
        return FineTuner.encode(m);
    }

    /** The split recorded in a model's {@code metadata}, or null when it records none (or one unreadable). */
    public static DataSplit fromMetadata(Map<String, String> metadata) {
        String text = metadata == null ? null : metadata.get(META);
        if (text == null) {
            return null;
        }
        try {
            Map<String, String> m = FineTuner.decode(Path.of("model"), text);
            return new DataSplit(Path.of(m.get("data")), "folders".equals(m.get("kind")),
                    Double.parseDouble(m.get("val_fraction")), Long.parseLong(m.get("seed")),
                    Integer.parseInt(m.get("train_images")), Integer.parseInt(m.get("val_images")));
        } catch (IOException | RuntimeException e) {
            return null; // a model from elsewhere with a mangled entry: evaluate as if nothing were recorded
        }
    }
}
