package dev.jresnet.finetune;

import dev.jresnet.train.EpochMetrics;
import dev.jresnet.train.Skipped;

import java.nio.file.Path;
import java.util.List;

/**
 * What a {@link FineTuner} run produced.
 *
 * @param history every epoch's metrics, those of a resumed checkpoint included (1-based epochs)
 * @param skipped the undecodable images left out (training and validation)
 * @param cache   how the feature cache paid off, or null when it was not used
 */
public record FineTuneResult(List<String> classes, List<EpochMetrics> history, Path model, Path checkpoint,
                             List<Skipped> skipped, CacheStats cache, String weights, boolean pretrained) {
    public FineTuneResult {
        classes = List.copyOf(classes);
        history = List.copyOf(history);
        skipped = List.copyOf(skipped);
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
