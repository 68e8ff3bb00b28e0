package dev.jresnet.train;

import dev.jresnet.image.Preset;
import dev.jresnet.image.Resize;
import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Shape;
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

    /**
     * Training at another input size: RandomResizedCrop({@code size}) and the flip, then ToTensor and the preset's
     * Normalize. At the preset's own crop size this is {@link #train(Preset)}.
     */
    public static Transform train(Preset preset, int size) {
        checkSize(size);
        if (size == preset.cropSize()) {
            return train(preset);
        }
        Augmentation augmentation = new Augmentation(size);
        return (image, rng) -> normalize(preset, augmentation.apply(image, rng));
    }

    /**
     * Evaluation at another input size: Resize({@link #resizeFor}) then CenterCrop({@code size}), keeping the
     * preset's resize/crop ratio (256/224 for torchvision-v1), then ToTensor and Normalize. At the preset's own
     * crop size this is {@link #eval(Preset)}.
     */
    public static Transform eval(Preset preset, int size) {
        checkSize(size);
        if (size == preset.cropSize()) {
            return eval(preset);
        }
        int resize = resizeFor(preset, size);
        // Only the crop's pixels are computed: bounded for any aspect ratio (a 20000x1 image included).
        return (image, rng) -> normalize(preset, Resize.resizeAndCenterCrop(image, resize, size));
    }

    /** The shorter side before the center crop of {@code size}: {@code round(size * resize / crop)} of the preset. */
    public static int resizeFor(Preset preset, int size) {
        checkSize(size);
        return size == preset.cropSize() ? preset.resizeSize()
                : (int) Math.round(size * (double) preset.resizeSize() / preset.cropSize());
    }

    /** The smallest input a ResNet accepts is 32 px; above 1024 px a CPU epoch is impractical. */
    public static final int MIN_SIZE = 32, MAX_SIZE = 1024;

    private static void checkSize(int size) {
        if (size < MIN_SIZE || size > MAX_SIZE) {
            throw new IllegalArgumentException("image size " + size + " must be in " + MIN_SIZE + ".." + MAX_SIZE
                    + " pixels");
        }
    }

    /** {@link Preset#normalize} at any square size: the same float32 operations in the same order. */
    static Tensor normalize(Preset preset, RgbImage image) {
        if (image.width() != image.height()) {
            throw new IllegalArgumentException("normalize expects a square crop, got " + image.width() + "x"
                    + image.height());
        }
        int size = image.width();
        float[] mean = preset.mean();
        float[] std = preset.std();
        int plane = size * size;
        float[] out = new float[3 * plane];
        byte[] px = image.pixels();
        for (int c = 0; c < 3; c++) {
            float m = mean[c];
            float sd = std[c];
            int o = c * plane;
            for (int i = 0; i < plane; i++) {
                float x = (px[i * 3 + c] & 0xff) / 255f;
                out[o + i] = (x - m) / sd;
            }
        }
        return new Tensor(Shape.of(3, size, size), out);
    }
}
