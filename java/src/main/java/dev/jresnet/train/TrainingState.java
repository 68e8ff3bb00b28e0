package dev.jresnet.train;

/**
 * Where a training run stands, for resuming it: {@code epoch} epochs completed, {@code step} optimizer steps
 * taken (the schedule's position), the run's base {@code seed} (shuffling and augmentation derive theirs from it
 * and the epoch), and the best validation top-1 so far (NaN before the first validation), for keeping the best
 * checkpoint.
 */
public record TrainingState(int epoch, long step, long seed, float bestValTop1) {
    public TrainingState {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        if (!Float.isNaN(bestValTop1) && !(bestValTop1 >= 0 && bestValTop1 <= 1)) {
            throw new IllegalArgumentException("best validation top-1 must be a fraction in [0, 1] or NaN, got " + bestValTop1);
        }
    }
}
