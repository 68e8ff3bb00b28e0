package dev.jresnet.train;

import dev.jresnet.image.Resize;
import dev.jresnet.image.RgbImage;

import java.util.random.RandomGenerator;

/**
 * torchvision 0.14's {@code RandomResizedCrop(size, scale, ratio)} on a PIL image: pick a box with
 * {@code get_params}'s algorithm, crop it, and resize it to size x size with PIL's bilinear filter
 * ({@link Resize#resize}). The random numbers come from the caller's generator, not torch's, so a
 * box is the one torchvision would pick for the same uniform draws, not for the same seed. The draws
 * are made in float32 as torch makes them (uniform_ and exp on float tensors), the rest in double as
 * Python does.
 */
public final class RandomResizedCrop {
    /** A crop box in pixels; {@code fallback} says that all ten random tries failed and this is the central crop. */
    public record Params(int top, int left, int height, int width, boolean fallback) {}

    private static final int ATTEMPTS = 10;

    private final int size;
    private final double minScale;
    private final double maxScale;
    private final double minRatio;
    private final double maxRatio;
    private final float logMinRatio;
    private final float logMaxRatio;

    /** The ImageNet default: scale (0.08, 1), ratio (3/4, 4/3). */
    public RandomResizedCrop(int size) {
        this(size, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0);
    }

    public RandomResizedCrop(int size, double minScale, double maxScale, double minRatio, double maxRatio) {
        if (size <= 0) {
            throw new IllegalArgumentException("crop size " + size + " must be positive");
        }
        if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1)) {
            throw new IllegalArgumentException("scale range (" + minScale + ", " + maxScale + ") must satisfy 0 < min <= max <= 1");
        }
        if (!(minRatio > 0 && minRatio <= maxRatio && Double.isFinite(maxRatio))) {
            throw new IllegalArgumentException("aspect ratio range (" + minRatio + ", " + maxRatio + ") must satisfy 0 < min <= max");
        }
        this.size = size;
        this.minScale = minScale;
        this.maxScale = maxScale;
        this.minRatio = minRatio;
        this.maxRatio = maxRatio;
        // torch.log(torch.tensor(ratio)): the ratios become float32 before the log.
        this.logMinRatio = (float) Math.log((float) minRatio);
        this.logMaxRatio = (float) Math.log((float) maxRatio);
    }

    public int size() {
        return size;
    }

    /** {@code RandomResizedCrop.get_params}: up to ten random boxes, then the central-crop fallback. */
    public Params sample(int width, int height, RandomGenerator rng) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size " + width + "x" + height + " must be positive");
        }
        double area = (double) width * height;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            double targetArea = area * uniform(rng, (float) minScale, (float) maxScale);
            double aspect = (float) Math.exp(uniform(rng, logMinRatio, logMaxRatio));
            // Python's round() is half-to-even, as Math.rint.
            long w = (long) Math.rint(Math.sqrt(targetArea * aspect));
            long h = (long) Math.rint(Math.sqrt(targetArea / aspect));
            if (0 < w && w <= width && 0 < h && h <= height) {
                int top = rng.nextInt(0, height - (int) h + 1);
                int left = rng.nextInt(0, width - (int) w + 1);
                return new Params(top, left, (int) h, (int) w, false);
            }
        }
        double inRatio = (double) width / height;
        int w;
        int h;
        if (inRatio < minRatio) {
            w = width;
            h = (int) Math.rint(w / minRatio);
        } else if (inRatio > maxRatio) {
            h = height;
            w = (int) Math.rint(h * maxRatio);
        } else {
            w = width;
            h = height;
        }
        return new Params((height - h) / 2, (width - w) / 2, h, w, true);
    }

    /** Samples a box and returns it resized to size x size. */
    public RgbImage apply(RgbImage image, RandomGenerator rng) {
        return apply(image, sample(image.width(), image.height(), rng));
    }

    /** {@code F.resized_crop(img, top, left, height, width, [size, size])}: crop, then PIL bilinear resize. */
    public RgbImage apply(RgbImage image, Params box) {
        return Resize.resize(crop(image, box), size, size);
    }

    static RgbImage crop(RgbImage image, Params box) {
        if (box.top() < 0 || box.left() < 0 || box.width() <= 0 || box.height() <= 0
                || box.left() + box.width() > image.width() || box.top() + box.height() > image.height()) {
            throw new IllegalArgumentException("crop box " + box + " does not lie inside the "
                    + image.width() + "x" + image.height() + " image");
        }
        byte[] in = image.pixels();
        byte[] out = new byte[box.width() * box.height() * 3];
        int rowBytes = box.width() * 3;
        for (int y = 0; y < box.height(); y++) {
            System.arraycopy(in, ((box.top() + y) * image.width() + box.left()) * 3, out, y * rowBytes, rowBytes);
        }
        return new RgbImage(box.width(), box.height(), out);
    }

    /** {@code torch.empty(1).uniform_(lo, hi)} on a float32 tensor: lo + (hi - lo) * u in float32. */
    private static float uniform(RandomGenerator rng, float lo, float hi) {
        return lo + (hi - lo) * rng.nextFloat();
    }
}
