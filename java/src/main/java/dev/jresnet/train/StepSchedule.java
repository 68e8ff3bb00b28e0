package dev.jresnet.train;

/** {@code StepLR}: the rate times {@code gamma} every {@code stepSize} steps. */
final class StepSchedule implements LrSchedule {
    private final float lr;
    private final int stepSize;
    private final float gamma;

    StepSchedule(float lr, int stepSize, float gamma) {
        ScheduleChecks.requireLr("learning rate", lr);
        if (stepSize <= 0) {
            throw new IllegalArgumentException("StepLR step size must be >= 1, got " + stepSize);
        }
        if (!(gamma > 0 && gamma <= 1)) {
            throw new IllegalArgumentException("StepLR gamma must be in (0, 1], got " + gamma);
        }
        this.lr = lr;
        this.stepSize = stepSize;
        this.gamma = gamma;
    }

    @Override
    public float lr(int step) {
        ScheduleChecks.requireStep(step);
        return (float) (lr * Math.pow(gamma, step / stepSize));
    }

    @Override
    public String toString() {
        return "step(lr=" + lr + ", step_size=" + stepSize + ", gamma=" + gamma + ")";
    }
}
