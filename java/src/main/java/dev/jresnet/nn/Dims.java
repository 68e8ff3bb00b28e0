package dev.jresnet.nn;

/**
 * The per-image shape of a value: {@code [c, h, w]} for a feature map, {@code [c]} for a vector (after global
 * average pooling), which has {@code h = w = 1} and {@code spatial = false}.
 */
public record Dims(int c, int h, int w, boolean spatial) {
    public static Dims map(int c, int h, int w) {
        return new Dims(c, h, w, true);
    }

    public static Dims vector(int c) {
        return new Dims(c, 1, 1, false);
    }

    /** Elements of one image's value. */
    public long elements() {
        return (long) c * h * w;
    }

    /** The batched shape: {@code [n, c, h, w]} or {@code [n, c]}. */
    public int[] withBatch(int n) {
        return spatial ? new int[] {n, c, h, w} : new int[] {n, c};
    }

    @Override
    public String toString() {
        return spatial ? "[" + c + ", " + h + ", " + w + "]" : "[" + c + "]";
    }
}
