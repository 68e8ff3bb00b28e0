package dev.jresnet.graph;

import dev.jresnet.nn.Step;
import dev.jresnet.tensor.Shape;

/**
 * Told of each step of a {@link CpuInference} forward pass as it finishes, with its wall time: how the kernel lab
 * profiles the engine's own forward pass layer by layer. Called on the thread that runs the forward pass, between
 * steps (so the time of one step never includes the listener). The shapes are those of the step's first input and
 * its output, [N, C, H, W] or [N, features], whatever layout the engine keeps them in.
 */
@FunctionalInterface
public interface StepListener {
    void stepDone(int index, Step step, Shape input, Shape output, long nanos);
}
