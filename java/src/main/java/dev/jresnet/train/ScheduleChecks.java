package dev.jresnet.train;

/** Argument checks shared by the schedules. */
final class ScheduleChecks {
    private ScheduleChecks() {}

    static void requireLr(String what, float lr) {
        if (!(lr >= 0) || !Float.isFinite(lr)) {
            throw new IllegalArgumentException(what + " must be finite and >= 0, got " + lr);
        }
    }

    static void requireStep(int step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
    }
}
