package dev.jresnet.train;

import dev.jresnet.tensor.Tensor;

/**
 * A trainable tensor under its (torchvision) name, with the gradient of the current step.
 * {@code grad} is null when the parameter got no gradient this step; optimizers then leave it and its state alone,
 * as PyTorch does for {@code p.grad is None}.
 */
public record Parameter(String name, Tensor value, Tensor grad) {
    public Parameter {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("parameter name must be non-empty, got " + (name == null ? "null" : "\"" + name + "\""));
        }
        if (value == null) {
            throw new IllegalArgumentException("parameter " + name + ": value is null");
        }
        if (grad != null) {
            grad.shape().require(value.shape(), "gradient of parameter " + name);
            if (grad.data() == value.data()) {
                // An optimizer writes the value while reading the gradient: sharing storage would corrupt both.
                throw new IllegalArgumentException("parameter " + name + ": gradient and value share one array");
            }
        }
    }
}
