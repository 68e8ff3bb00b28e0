package dev.jresnet.train;

import dev.jresnet.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;

/**
 * A batch of preprocessed images {@code [B, 3, H, W]} with their labels and source files, in the same
 * order. B is the loader's batch size except for the last batch of an epoch and for batches that lost
 * undecodable samples.
 */
public record Batch(Tensor images, int[] labels, List<Path> files) {
    public Batch {
        files = List.copyOf(files);
        if (images.rank() < 1 || images.dim(0) != labels.length || labels.length != files.size()) {
            throw new IllegalArgumentException("batch of images " + images.shape() + " has " + labels.length
                    + " labels and " + files.size() + " files");
        }
    }

    public int size() {
        return labels.length;
    }
}
