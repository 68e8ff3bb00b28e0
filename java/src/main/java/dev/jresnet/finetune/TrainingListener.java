package dev.jresnet.finetune;

import dev.jresnet.train.EpochMetrics;

import java.nio.file.Path;
import java.util.List;

/**
 * Hears how a {@link FineTuner} run goes, on the training thread: the plan, progress within an epoch (for a
 * progress bar), each finished epoch, checkpoints and notes worth telling the user. Every method has an empty
 * default; a slow listener slows training.
 */
public interface TrainingListener {
    /** What a phase of an epoch is doing. */
    enum Phase {
        /** Running the frozen prefix once per image to fill the feature cache. */
        FEATURE_CACHE,
        TRAIN,
        VALIDATE
    }

    /**
     * The run about to start.
     *
     * @param startEpoch epochs already done (from a resumed checkpoint), 0 for a fresh run
     * @param featureCache whether epochs train from cached frozen features
     */
    record Plan(List<String> classes, int trainImages, int valImages, int epochs, int startEpoch, int stepsPerEpoch,
                String device, String weights, boolean pretrained, boolean newHead, String optimizer,
                boolean featureCache, int trainableParameters) {
        public Plan {
            classes = List.copyOf(classes);
        }
    }

    /**
     * Progress within a phase: {@code done} of {@code total} images, the mean loss so far (NaN where none), the
     * images per second of this phase so far and the estimated seconds it still needs. {@code epoch} is 1-based.
     */
    record Progress(Phase phase, int epoch, int epochs, int done, int total, double loss, double imagesPerSecond,
                    double etaSeconds) {}

    default void started(Plan plan) {}

    /** A note for the user: the feature cache decision, what a resume restored, a warning. */
    default void message(String text) {}

    default void progress(Progress progress) {}

    /** An epoch finished (validation included); {@code metrics.epoch()} is 1-based. */
    default void epochEnded(EpochMetrics metrics) {}

    default void checkpointWritten(Path checkpoint, int epoch) {}
}
