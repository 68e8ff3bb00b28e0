package dev.jresnet.train;

/**
 * One epoch's summary. Losses are mean cross-entropy per image; accuracies are fractions in [0, 1]; a value that
 * was not measured is NaN, and charts leave it out: the validation figures without a validation set, top-5 with 5
 * classes or fewer ({@link Metrics#hasTop5}), {@code lr} in a history written before it was recorded.
 *
 * @param lr the mean learning rate of the epoch's steps
 */
public record EpochMetrics(int epoch, double trainLoss, double valLoss, double trainTop1, double valTop1,
                           double valTop5, double imagesPerSecond, double seconds, double lr) {
    public EpochMetrics {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
        fraction("train top-1", trainTop1);
        fraction("validation top-1", valTop1);
        fraction("validation top-5", valTop5);
    }

    /** An epoch whose learning rate was not recorded (NaN). */
    public EpochMetrics(int epoch, double trainLoss, double valLoss, double trainTop1, double valTop1, double valTop5,
                        double imagesPerSecond, double seconds) {
        this(epoch, trainLoss, valLoss, trainTop1, valTop1, valTop5, imagesPerSecond, seconds, Double.NaN);
    }

    private static void fraction(String what, double v) {
        if (!Double.isNaN(v) && !(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException(what + " must be a fraction in [0, 1] or NaN, got " + v);
        }
    }
}
