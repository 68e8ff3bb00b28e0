package dev.jresnet.train;

/** The same learning rate at every step. */
final class ConstantSchedule implements LrSchedule {
    private final float lr;

    ConstantSchedule(float lr) {
        ScheduleChecks.requireLr("learning rate", lr);
        this.lr = lr;
    }

    @Override
    public float lr(int step) {
        ScheduleChecks.requireStep(step);
        return lr;
    }

    @Override
    public String toString() {
        return "constant(lr=" + lr + ")";
    }
}
