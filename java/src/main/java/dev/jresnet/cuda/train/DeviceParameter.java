package dev.jresnet.cuda.train;

import dev.jresnet.cuda.DeviceBuffer;
import dev.jresnet.tensor.Shape;

/**
 * A trainable tensor on the device under its torchvision name: its fp32 value and its gradient (same shape,
 * separate memory), the GPU counterpart of {@link dev.jresnet.train.Parameter}.
 */
public record DeviceParameter(String name, Shape shape, DeviceBuffer value, DeviceBuffer grad) {
    public DeviceParameter {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("parameter name must be non-empty");
        }
        long bytes = 4L * shape.size();
        if (value.bytes() < bytes || grad.bytes() < bytes) {
            throw new IllegalArgumentException("parameter " + name + " " + shape + ": value " + value + " or gradient "
                    + grad + " is too small");
        }
    }

    public long count() {
        return shape.size();
    }
}
