package dev.jresnet.train;

import java.util.Locale;

/**
 * The learning rate of each optimizer step (0-based), matching the values {@code torch.optim.lr_scheduler} gives
 * when {@code scheduler.step()} is called after every optimizer step: {@code StepLR}, {@code CosineAnnealingLR}
 * (closed form) and, for warm-up, {@code LinearLR} chained with {@code SequentialLR}. Values are computed in
 * double, as Python does, and rounded to float once.
 */
public interface LrSchedule {
    float lr(int step);

    /** The same rate at every step. */
    static LrSchedule constant(float lr) {
        return new ConstantSchedule(lr);
    }

    /** {@code StepLR}: {@code lr * gamma^floor(step / stepSize)}. */
    static LrSchedule step(float lr, int stepSize, float gamma) {
        return new StepSchedule(lr, stepSize, gamma);
    }

    /** {@code CosineAnnealingLR(T_max=totalSteps, eta_min=minLr)}; reaches minLr at totalSteps and stays there. */
    static LrSchedule cosine(float lr, int totalSteps, float minLr) {
        return new CosineSchedule(lr, totalSteps, minLr);
    }

    /**
     * {@code lr} rising linearly from {@code lr * startFactor} over {@code warmupSteps} steps, then {@code after}
     * with its steps counted from the end of the warm-up ({@code SequentialLR([LinearLR, after], [warmupSteps])}).
     * {@code after} must start at {@code lr}, as the schedules here do, for the two phases to join.
     */
    static LrSchedule withWarmup(float lr, int warmupSteps, float startFactor, LrSchedule after) {
        return warmupSteps == 0 ? after : new WarmupSchedule(lr, warmupSteps, startFactor, after);
    }

    /** The CLI's settings besides the kind; epochs are converted to steps with the loader's steps per epoch. */
    record Options(int warmupEpochs, float warmupStartFactor, int stepEpochs, float gamma, float minLr) {
        /** torchvision's reference recipe: no warm-up (factor 0.01 when asked for), step every 30 epochs by 0.1. */
        public static final Options DEFAULTS = new Options(0, 0.01f, 30, 0.1f, 0f);

        public Options {
            if (warmupEpochs < 0) {
                throw new IllegalArgumentException("warm-up epochs must be >= 0, got " + warmupEpochs);
            }
            if (!(warmupStartFactor > 0 && warmupStartFactor <= 1)) {
                throw new IllegalArgumentException("warm-up start factor must be in (0, 1], got " + warmupStartFactor);
            }
            if (stepEpochs <= 0) {
                throw new IllegalArgumentException("step size must be >= 1 epoch, got " + stepEpochs);
            }
            if (!(gamma > 0 && gamma <= 1)) {
                throw new IllegalArgumentException("step gamma must be in (0, 1], got " + gamma);
            }
            if (!(minLr >= 0) || !Float.isFinite(minLr)) {
                throw new IllegalArgumentException("minimum lr must be finite and >= 0, got " + minLr);
            }
        }
    }

    /**
     * The schedule the CLI names ({@code constant}, {@code step} or {@code cosine}) for {@code epochs} epochs of
     * {@code stepsPerEpoch} optimizer steps; a warm-up takes the first {@code options.warmupEpochs()} of them and
     * the cosine decays over the rest.
     */
    static LrSchedule parse(String kind, float lr, int epochs, int stepsPerEpoch, Options options) {
        if (epochs <= 0 || stepsPerEpoch <= 0) {
            throw new IllegalArgumentException("epochs and steps per epoch must be >= 1, got " + epochs + " and "
                    + stepsPerEpoch);
        }
        if ((long) epochs * stepsPerEpoch > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(epochs + " epochs of " + stepsPerEpoch + " steps exceed 2^31-1 steps");
        }
        if (options.warmupEpochs() >= epochs) {
            throw new IllegalArgumentException("warm-up of " + options.warmupEpochs() + " epochs leaves none of the "
                    + epochs + " epochs to train");
        }
        int total = epochs * stepsPerEpoch;
        int warmup = options.warmupEpochs() * stepsPerEpoch;
        LrSchedule main = switch (kind == null ? "" : kind.toLowerCase(Locale.ROOT)) {
            case "constant" -> constant(lr);
            case "step" -> step(lr, options.stepEpochs() * stepsPerEpoch, options.gamma());
            case "cosine" -> cosine(lr, total - warmup, options.minLr());
            default -> throw new IllegalArgumentException("unknown lr schedule \"" + kind
                    + "\": expected constant, step or cosine");
        };
        return withWarmup(lr, warmup, options.warmupStartFactor(), main);
    }
}
