package dev.jresnet.image;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The torchvision ResNet evaluation transforms: {@code Resize(resize)}, {@code CenterCrop(crop)},
 * {@code ToTensor()}, {@code Normalize(mean, std)}. V1 is the classic ImageNet recipe (IMAGENET1K_V1
 * weights); V2 is what torchvision publishes for IMAGENET1K_V2 (resize 232).
 */
public enum Preset {
    TORCHVISION_V1("torchvision-v1", 256, 224),
    TORCHVISION_V2("torchvision-v2", 232, 224);

    // float32 on purpose: Normalize turns its mean/std lists into float32 tensors before subtracting and dividing.
    private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] STD = {0.229f, 0.224f, 0.225f};

    private final String id;
    private final int resizeSize;
    private final int cropSize;

    Preset(String id, int resizeSize, int cropSize) {
        this.id = id;
        this.resizeSize = resizeSize;
        this.cropSize = cropSize;
    }

    /** The preset called {@code name} ("torchvision-v1" or "torchvision-v2"). */
    public static Preset fromName(String name) {
        for (Preset p : values()) {
            if (p.id.equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown preprocessing preset \"" + name + "\"; valid names: "
                + Arrays.stream(values()).map(Preset::id).collect(Collectors.joining(", ")));
    }

    public String id() {
        return id;
    }

    /** The shorter side after Resize. */
    public int resizeSize() {
        return resizeSize;
    }

    /** The side of the square CenterCrop, and so of the network input. */
    public int cropSize() {
        return cropSize;
    }

    /** Per-channel mean (R, G, B) as the float32 values Normalize uses; a copy. */
    public float[] mean() {
        return MEAN.clone();
    }

    /** Per-channel standard deviation (R, G, B) as the float32 values Normalize uses; a copy. */
    public float[] std() {
        return STD.clone();
    }

    /**
     * Resize (shorter side to {@link #resizeSize()}) then CenterCrop ({@link #cropSize()} square), computing only the
     * crop's pixels ({@link Resize#resizeAndCenterCrop}): bounded for any aspect ratio.
     */
    public RgbImage resizeAndCrop(RgbImage image) {
        return Resize.resizeAndCenterCrop(image, resizeSize, cropSize);
    }

    /**
     * ToTensor then Normalize on an already cropped image: a {@code [3, crop, crop]} CHW float32 tensor with
     * the same float32 operations in the same order as torch ({@code p / 255}, then {@code (x - mean) / std}),
     * so the values agree bit for bit.
     */
    public Tensor normalize(RgbImage cropped) {
        return normalize(cropped, cropSize);
    }

    /** {@link #normalize(RgbImage)} of a {@code size} x {@code size} crop (another input size). */
    public Tensor normalize(RgbImage cropped, int size) {
        if (cropped.width() != size || cropped.height() != size) {
            throw new IllegalArgumentException(id + ": normalize expects a " + size + "x" + size
                    + " image (the crop), got " + cropped.width() + "x" + cropped.height());
        }
        int plane = size * size;
        float[] out = new float[3 * plane];
        byte[] px = cropped.pixels();
        for (int c = 0; c < 3; c++) {
            float mean = MEAN[c];
            float std = STD[c];
            int o = c * plane;
            for (int i = 0; i < plane; i++) {
                float x = (px[i * 3 + c] & 0xff) / 255f;
                out[o + i] = (x - mean) / std;
            }
        }
        return new Tensor(Shape.of(3, size, size), out);
    }

    /** The whole transform: {@link #resizeAndCrop} then {@link #normalize}. */
    public Tensor preprocess(RgbImage image) {
        return normalize(resizeAndCrop(image));
    }

    /**
     * The shorter side before a center crop of {@code size}: {@link #resizeSize()} at the preset's own crop size,
     * else {@code round(size * resize / crop)}, keeping the preset's ratio (256/224 for torchvision-v1).
     */
    public int resizeFor(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("crop size must be >= 1, got " + size);
        }
        return size == cropSize ? resizeSize : (int) Math.round(size * (double) resizeSize / cropSize);
    }

    /** Resize (shorter side to {@link #resizeFor}{@code (size)}) then CenterCrop ({@code size} square). */
    public RgbImage resizeAndCrop(RgbImage image, int size) {
        return size == cropSize ? resizeAndCrop(image) : Resize.resizeAndCenterCrop(image, resizeFor(size), size);
    }

    /**
     * The whole transform at input size {@code size} (a model fine-tuned at another size): {@link #resizeAndCrop(
     * RgbImage, int)} then {@link #normalize(RgbImage, int)}; at {@link #cropSize()} this is {@link #preprocess}.
     */
    public Tensor preprocess(RgbImage image, int size) {
        return normalize(resizeAndCrop(image, size), size);
    }
}
