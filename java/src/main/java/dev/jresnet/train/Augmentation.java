package dev.jresnet.train;

import dev.jresnet.image.RgbImage;

import java.util.random.RandomGenerator;

/**
 * The standard ImageNet training augmentation, torchvision's
 * {@code Compose([RandomResizedCrop(size), RandomHorizontalFlip(0.5)])}, drawing from the generator
 * in the same order as torchvision does (the crop box first, then the flip).
 */
public final class Augmentation {
    private final RandomResizedCrop crop;
    private final double flipProbability;

    /** RandomResizedCrop(size) with ImageNet's scale and ratio, then a flip with probability 0.5. */
    public Augmentation(int size) {
        this(new RandomResizedCrop(size), 0.5);
    }

    public Augmentation(RandomResizedCrop crop, double flipProbability) {
        if (!(flipProbability >= 0 && flipProbability <= 1)) {
            throw new IllegalArgumentException("flip probability " + flipProbability + " must be in [0, 1]");
        }
        this.crop = crop;
        this.flipProbability = flipProbability;
    }

    public RandomResizedCrop crop() {
        return crop;
    }

    public RgbImage apply(RgbImage image, RandomGenerator rng) {
        RgbImage out = crop.apply(image, rng);
        // RandomHorizontalFlip: torch.rand(1) < p, a float32 draw.
        return rng.nextFloat() < flipProbability ? flipHorizontally(out) : out;
    }

    /** The image mirrored left to right. */
    public static RgbImage flipHorizontally(RgbImage image) {
        int w = image.width();
        byte[] in = image.pixels();
        byte[] out = new byte[in.length];
        for (int y = 0; y < image.height(); y++) {
            int row = y * w * 3;
            for (int x = 0; x < w; x++) {
                int s = row + x * 3;
                int d = row + (w - 1 - x) * 3;
                out[d] = in[s];
                out[d + 1] = in[s + 1];
                out[d + 2] = in[s + 2];
            }
        }
        return new RgbImage(w, image.height(), out);
    }
}
