package dev.jresnet.train;

import dev.jresnet.tensor.Shape;

/**
 * A trainable tensor on a training device under its torchvision name: its value and its gradient (same shape,
 * separate memory). {@code T} is the device's tensor type ({@code Tensor} on the CPU).
 */
public record Param<T>(String name, Shape shape, T value, T grad) {
    public Param {
        if (name == null || name.isBlank() || shape == null || value == null || grad == null) {
            throw new IllegalArgumentException("a parameter needs a name, a shape, a value and a gradient");
        }
    }
}
