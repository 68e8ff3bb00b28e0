package dev.jresnet.finetune;

import dev.jresnet.train.EpochMetrics;
import dev.jresnet.train.Skipped;

import java.nio.file.Path;
import java.util.List;

/**
 * What a {@link FineTuner} run produced.
 *
 * @param history every epoch's metrics, those of a resumed checkpoint included (1-based epochs)
 * @param keptEpoch the epoch whose weights the model holds: the best validation top-1 (ties: the lower validation
 *                  loss, then the earlier), the last without a validation set; 0 when no epoch ran
 * @param skipped the undecodable images left out (training and validation)
 * @param cache   how the feature cache paid off, or null when it was not used
 */
public record FineTuneResult(List<String> classes, List<EpochMetrics> history, int keptEpoch, Path model, Path checkpoint,
                             List<Skipped> skipped, CacheStats cache, String weights, boolean pretrained) {
    public FineTuneResult {
        classes = List.copyOf(classes);
        history = List.copyOf(history);
        if (keptEpoch < 0 || keptEpoch > history.size()) {
            throw new IllegalArgumentException("kept epoch " + keptEpoch + " is not one of the " + history.size()
                    + " epochs");
        }
        skipped = List.copyOf(skipped);
    }

    /** The metrics of the epoch whose weights the model holds, or null when no epoch ran. */
    public EpochMetrics kept() {
        return keptEpoch == 0 ? null : history.get(keptEpoch - 1);
    }

    /** The last epoch's metrics, or null when no epoch ran. */
    public EpochMetrics last() {
        return history.isEmpty() ? null : history.get(history.size() - 1);
    }

    /**
     * The feature cache's cost and gain: {@code images} cached in {@code bytes}, built in {@code buildSeconds}
     * (the frozen prefix over the training and validation images, decoding included). A cached epoch took
     * {@code cachedEpochSeconds} on average; without the cache an epoch runs the frozen prefix again, so it takes
     * about {@code buildSeconds + cachedEpochSeconds}, and {@code speedup} is that over {@code cachedEpochSeconds}
     * (epochs per second with the cache over epochs per second without).
     */
    public record CacheStats(int images, long bytes, double buildSeconds, double cachedEpochSeconds, int cachedEpochs) {
        public double uncachedEpochSeconds() {
            return buildSeconds + cachedEpochSeconds;
        }

        public double speedup() {
            return cachedEpochSeconds > 0 ? uncachedEpochSeconds() / cachedEpochSeconds : Double.NaN;
        }
    }
}
