package dev.jresnet.graph;

import dev.jresnet.nn.Step;
import dev.jresnet.tensor.Shape;

/**
 * Told of each step of a {@link CpuEngine}'s forward pass as it finishes, with its wall time: how the kernel lab
 * profiles the engine's own forward pass layer by layer. Called on the thread that runs the forward pass, between
 * steps (so the time of one step never includes the listener). The shapes are those of the step's first input and
 * its output, [N, C, H, W] or [N, features], whatever layout the engine keeps them in.
 */
@FunctionalInterface
public interface StepListener {
    void stepDone(int index, Step step, Shape input, Shape output, long nanos);

    /**
     * How many times to run each step again right after {@link #stepDone}, on the same operands (0, the default:
     * never). Those runs find their inputs, weights and output in the caches the first one left: the step alone and
     * warm, against its time inside the pass. They overwrite the step's output with the same values, so the pass's
     * result is unchanged; they do change what the following steps find in the caches, so a pass that asks for them
     * is for the warm times only. An engine skips the steps that cannot run twice on the same operands (oneDNN's
     * convolutions that add into their residual's buffer in place): those report no warm time.
     */
    default int warmRepeats() {
        return 0;
    }

    /** The median wall time of step {@code index}'s {@link #warmRepeats} runs, when that is above 0. */
    default void stepWarm(int index, long nanos) {
    }

    /** Runs {@code step} {@code repeats} times (at least 1), one after the other; the median wall time in ns. */
    static long medianNanos(int repeats, Runnable step) {
        long[] nanos = new long[repeats];
        for (int r = 0; r < repeats; r++) {
            long t0 = System.nanoTime();
            step.run();
            nanos[r] = System.nanoTime() - t0;
        }
        java.util.Arrays.sort(nanos);
        return nanos[repeats / 2];
    }
}
