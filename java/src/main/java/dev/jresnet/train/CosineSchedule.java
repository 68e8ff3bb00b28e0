package dev.jresnet.train;

/** {@code CosineAnnealingLR}'s closed form, half a cosine from the rate down to {@code minLr} over {@code totalSteps}. */
final class CosineSchedule implements LrSchedule {
    private final float lr;
    private final int totalSteps;
    private final float minLr;

    CosineSchedule(float lr, int totalSteps, float minLr) {
        ScheduleChecks.requireLr("learning rate", lr);
        ScheduleChecks.requireLr("minimum learning rate", minLr);
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("cosine schedule needs >= 1 step, got " + totalSteps);
        }
        if (minLr > lr) {
            throw new IllegalArgumentException("cosine minimum lr " + minLr + " exceeds the lr " + lr);
        }
        this.lr = lr;
        this.totalSteps = totalSteps;
        this.minLr = minLr;
    }

    @Override
    public float lr(int step) {
        ScheduleChecks.requireStep(step);
        // Past the end torch's cosine would climb back up; a loop that overshoots by a step should not.
        int t = Math.min(step, totalSteps);
        double min = minLr;
        return (float) (min + (lr - min) * (1 + Math.cos(Math.PI * t / totalSteps)) / 2);
    }

    @Override
    public String toString() {
        return "cosine(lr=" + lr + ", total_steps=" + totalSteps + ", min_lr=" + minLr + ")";
    }
}
