package dev.jresnet.train;

import dev.jresnet.image.Preset;
import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Tensor;

import java.util.Objects;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/** The transforms of torchvision's ImageNet recipe, ending in the preset's normalised {@code [3, crop, crop]} tensor. */
public final class Transforms {
    private Transforms() {}

    /** Training: RandomResizedCrop(crop size) and RandomHorizontalFlip(0.5), then ToTensor and Normalize. */
    public static Transform train(Preset preset) {
        Augmentation augmentation = new Augmentation(preset.cropSize());
        return (image, rng) -> preset.normalize(augmentation.apply(image, rng));
    }

    /**
     * {@link #train(Preset)} bound to one generator, for single-threaded use; a loader should use the
     * unbound form so that each sample's randomness does not depend on which samples came before it.
     */
    public static Function<RgbImage, Tensor> train(Preset preset, RandomGenerator rng) {
        Objects.requireNonNull(rng, "rng");
        Transform t = train(preset);
        return image -> t.apply(image, rng);
    }

    /** Evaluation: the preset's Resize and CenterCrop, then ToTensor and Normalize; draws nothing from the generator. */
    public static Transform eval(Preset preset) {
        return (image, rng) -> preset.preprocess(image);
    }
}
