package dev.jresnet.train;

/**
 * {@code LinearLR(start_factor, end_factor=1, total_iters=warmupSteps)} followed, from step {@code warmupSteps} on,
 * by another schedule whose own steps restart at 0 (what {@code SequentialLR} does at its milestone).
 */
final class WarmupSchedule implements LrSchedule {
    private final float lr;
    private final int warmupSteps;
    private final float startFactor;
    private final LrSchedule after;

    WarmupSchedule(float lr, int warmupSteps, float startFactor, LrSchedule after) {
        ScheduleChecks.requireLr("learning rate", lr);
        if (warmupSteps <= 0) {
            throw new IllegalArgumentException("warm-up steps must be >= 1, got " + warmupSteps);
        }
        if (!(startFactor > 0 && startFactor <= 1)) {
            throw new IllegalArgumentException("warm-up start factor must be in (0, 1], got " + startFactor);
        }
        if (after == null) {
            throw new IllegalArgumentException("the schedule after the warm-up is null");
        }
        this.lr = lr;
        this.warmupSteps = warmupSteps;
        this.startFactor = startFactor;
        this.after = after;
    }

    @Override
    public float lr(int step) {
        ScheduleChecks.requireStep(step);
        if (step >= warmupSteps) {
            return after.lr(step - warmupSteps);
        }
        double f = startFactor;
        return (float) (lr * (f + (1 - f) * step / warmupSteps));
    }

    @Override
    public String toString() {
        return "warmup(steps=" + warmupSteps + ", start_factor=" + startFactor + ") then " + after;
    }
}
