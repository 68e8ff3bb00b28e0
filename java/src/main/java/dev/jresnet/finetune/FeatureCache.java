package dev.jresnet.finetune;

import dev.jresnet.train.Batch;
import dev.jresnet.train.DataLoader;
import dev.jresnet.train.Sample;
import dev.jresnet.train.TrainingBackend;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * The frozen prefix's output for every sample of a list, computed once ({@link TrainingBackend#frozenFeatures},
 * inference mode) so that later epochs run only the trainable layers. Built in list order with a fixed batch
 * size, so the cached values, bit for bit, depend only on the samples, the weights and that batch size: a
 * resumed run rebuilds exactly the cache an uninterrupted one had.
 */
final class FeatureCache {
    /** Rows of cached features, assembled like a loader's batch: the samples that decoded, in order. */
    record Rows(Tensor input, int[] labels) {}

    private final List<Sample> samples;
    private final float[][] rows;       // by sample position; null for a sample that could not be decoded
    private final int[] dims;           // one sample's feature shape
    private final int cached;

    private FeatureCache(List<Sample> samples, float[][] rows, int[] dims, int cached) {
        this.samples = samples;
        this.rows = rows;
        this.dims = dims;
        this.cached = cached;
    }

    /**
     * Runs every batch of {@code loader} (which must iterate {@code samples} in list order, without shuffling)
     * through the frozen prefix; {@code progress} hears the number of samples handled so far.
     */
    static FeatureCache build(DataLoader loader, List<Sample> samples, TrainingBackend backend, IntConsumer progress) {
        float[][] rows = new float[samples.size()][];
        int[] dims = null;
        int position = 0;
        int cached = 0;
        for (Batch b : loader.epoch(0)) {
            Tensor f = backend.frozenFeatures(b.images());
            int per = f.size() / b.size();
            if (dims == null) {
                dims = java.util.Arrays.copyOfRange(f.shape().dims(), 1, f.rank());
            }
            for (int j = 0; j < b.size(); j++) {
                Path file = b.files().get(j);
                // Batches come in list order; samples missing from them were skipped as undecodable.
                while (position < samples.size() && !samples.get(position).file().equals(file)) {
                    position++;
                }
                if (position == samples.size()) {
                    throw new IllegalStateException("feature cache: " + file + " is not in the sample list (internal error)");
                }
                float[] row = new float[per];
                System.arraycopy(f.data(), j * per, row, 0, per);
                rows[position++] = row;
                cached++;
            }
            progress.accept(position);
        }
        return new FeatureCache(samples, rows, dims == null ? new int[0] : dims, cached);
    }

    /** How many samples have features (the others could not be decoded). */
    int cached() {
        return cached;
    }

    long bytes() {
        long per = 1;
        for (int d : dims) {
            per *= d;
        }
        return per * 4L * cached;
    }

    /** The cached rows of positions {@code order[from..to)}, skipping undecodable samples; null if none is left. */
    Rows rows(int[] order, int from, int to) {
        List<Integer> good = new ArrayList<>();
        for (int i = from; i < to; i++) {
            if (rows[order[i]] != null) {
                good.add(order[i]);
            }
        }
        if (good.isEmpty()) {
            return null;
        }
        int per = rows[good.get(0)].length;
        float[] data = new float[per * good.size()];
        int[] labels = new int[good.size()];
        for (int i = 0; i < good.size(); i++) {
            System.arraycopy(rows[good.get(i)], 0, data, i * per, per);
            labels[i] = samples.get(good.get(i)).label();
        }
        int[] shape = new int[dims.length + 1];
        shape[0] = good.size();
        System.arraycopy(dims, 0, shape, 1, dims.length);
        return new Rows(new Tensor(Shape.of(shape), data), labels);
    }
}
