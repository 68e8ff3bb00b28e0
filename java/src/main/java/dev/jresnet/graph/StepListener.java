package dev.jresnet.graph;

import dev.jresnet.nn.Step;
import dev.jresnet.tensor.Tensor;

/**
 * Told of each step of a {@link CpuInference} forward pass as it finishes, with its wall time: how the kernel lab
 * profiles the engine's own forward pass layer by layer. Called on the thread that runs the forward pass, between
 * steps (so the time of one step never includes the listener). The tensors are the step's first input and its
 * output; they may be reused by the next call (the activation arena), so read their shapes, never keep them.
 */
@FunctionalInterface
public interface StepListener {
    void stepDone(int index, Step step, Tensor input, Tensor output, long nanos);
}
