package dev.jresnet.train;

import dev.jresnet.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * Updates parameters in place from their gradients, keeping per-parameter state by parameter name.
 * Implementations reproduce PyTorch's single-tensor CPU update in float32, operation by operation, so that a
 * fine-tuning run can be compared with PyTorch step for step.
 */
public interface Optimizer {
    /** One update of every parameter that has a gradient, with learning rate {@code lr}. */
    void step(List<Parameter> params, float lr);

    /**
     * A copy of the state for a checkpoint: {@code "<param>.momentum_buffer"}, {@code "<param>.exp_avg"},
     * {@code "<param>.exp_avg_sq"}, {@code "<param>.step"} (as the implementation keeps them) and {@code "step"},
     * the number of {@link #step} calls, each a float32 tensor.
     */
    Map<String, Tensor> state();

    /** Replaces the whole state with a copy of {@code state} as {@link #state()} returned it; checks every key. */
    void loadState(Map<String, Tensor> state);

    /** The kind and hyperparameters, e.g. {@code sgd(momentum=0.9, weight_decay=1e-4, nesterov=false)}. */
    String describe();
}
