package dev.jresnet.train;

import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Tensor;

import java.util.random.RandomGenerator;

/**
 * Turns a decoded image into a network input tensor. The generator is the only source of randomness,
 * handed in per call so that a loader can give every sample its own reproducible stream; an
 * implementation must be safe to call from several threads at once.
 */
@FunctionalInterface
public interface Transform {
    Tensor apply(RgbImage image, RandomGenerator rng);
}
