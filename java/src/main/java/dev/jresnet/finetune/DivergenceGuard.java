package dev.jresnet.finetune;

import java.util.Locale;

/**
 * Stops a run whose training loss has left the range a learning run stays in. Cross-entropy starts near ln(classes)
 * (a uniform guess) and falls from there; a loss that is not finite, or that stays above {@link #FACTOR} x ln(classes)
 * for {@link #BATCHES} batches in a row, means the steps are too large (typically the learning rate, or unclipped
 * gradients): the run only wastes time from there, so it stops with the reason and the fix.
 *
 * <p>Why these numbers (measured on SyntheticShapes, 6 classes, ln 6 = 1.79): runs that learned (resnet18 from
 * scratch, lr 0.05 and 0.1) had single batches up to 4 x ln(classes) early on; a frozen untrained resnet50 with only
 * fc trained at lr 0.01 (the default, too large for such unnormalised features) ran at 70 to 700 on every batch but
 * the first, at lr 1 and 10 a hundred and a thousand times that; resnet18 with train-mode BatchNorm at lr 0.5 and 2
 * spiked to 80 and 211 for two or three batches and came back to ln(classes). 10 x leaves room above the learning
 * runs, and 5 batches in a row lets a spike pass while stopping the sustained case within its first epoch.
 */
final class DivergenceGuard {
    /** A batch's loss above this many times ln(classes) counts as out of range. */
    static final double FACTOR = 10;
    /** This many out-of-range batches in a row stop the run. */
    static final int BATCHES = 5;

    private final int classes;
    private final double limit;
    private int run;

    DivergenceGuard(int classes) {
        if (classes < 1) {
            throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        }
        this.classes = classes;
        // One class would make ln(classes) 0: use two, the smallest classification.
        this.limit = FACTOR * Math.log(Math.max(2, classes));
    }

    /** The loss above which a batch counts as out of range. */
    double limit() {
        return limit;
    }

    /**
     * Hears one training batch's loss, before anything else uses it, and says why the run must stop, or null: at
     * once for a non-finite loss (the trainer has not applied that step), after {@link #BATCHES} out-of-range
     * batches in a row otherwise.
     */
    String check(float loss) {
        if (!Float.isFinite(loss)) {
            return "the loss is " + loss;
        }
        run = loss > limit ? run + 1 : 0;
        if (run >= BATCHES) {
            return String.format(Locale.ROOT, "the loss stayed above %.1f (%.0f x ln %d classes, where training "
                    + "starts) for %d batches in a row, the last %.4g", limit, FACTOR, Math.max(2, classes), BATCHES,
                    loss);
        }
        return null;
    }
}
