package dev.jresnet.train;

import java.nio.file.Path;
import java.util.Objects;

/** One labelled image file; {@code label} indexes the dataset's class list. */
public record Sample(Path file, int label) {
    public Sample {
        Objects.requireNonNull(file, "file");
        if (label < 0) {
            throw new IllegalArgumentException("sample " + file + " has negative label " + label);
        }
    }
}
