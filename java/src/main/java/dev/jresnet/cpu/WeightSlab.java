package dev.jresnet.cpu;

/**
 * Ranges of one float array for packed weights, each starting on a 64-byte cache line where the JVM allows it. A
 * 512-bit load of weights that straddles two lines costs the direct convolution's tile about 9 % of its speed with
 * its data in L1 (157 against 144 GFLOP/s measured here) and ResNet-50 3-6 % of a forward pass; Java gives no
 * aligned arrays, but HotSpot's default collector (G1, on 2 or more CPUs) places an array of half a region or more
 * at the start of a region, so in one large array the offset of a line is known from the array header's size.
 * Elsewhere (another collector, a small model) the ranges are merely as aligned as any array: correct, not faster.
 *
 * <p>Filled while the model is built, by one thread; read-only after that.
 */
public final class WeightSlab {
    /** Floats per 64-byte line. */
    static final int LINE = 16;
    /** The first float of an array on a line, given the array's data starts where a region does plus the header. */
    static final int FIRST_ALIGNED = (LINE - arrayBaseOffset() / Float.BYTES % LINE) % LINE;

    private final float[] data;
    private int next;

    private WeightSlab(int capacity) {
        this.data = new float[capacity];
        this.next = FIRST_ALIGNED;
    }

    /** Room for {@code ranges} ranges of {@code floats} floats in all, each rounded up to a whole line. */
    public static WeightSlab forFloats(long floats, int ranges) {
        long capacity = floats + (long) (ranges + 1) * LINE;
        if (capacity > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("packed weights of " + floats + " floats do not fit one Java array");
        }
        return new WeightSlab((int) capacity);
    }

    /** The array the ranges lie in. */
    public float[] array() {
        return data;
    }

    /** The start of a new range of {@code floats} floats; the next starts on the line after its end. */
    public int take(int floats) {
        int start = next;
        if (floats < 0 || (long) start + floats > data.length) {
            throw new IllegalStateException("weight slab of " + data.length + " floats has no room for " + floats
                    + " more at " + start);
        }
        next = start + (floats + LINE - 1) / LINE * LINE;
        return start;
    }

    /** HotSpot's float[] header: 16 bytes, unless the JVM says otherwise (e.g. compact object headers). */
    private static int arrayBaseOffset() {
        try {
            return Class.forName("sun.misc.Unsafe").getField("ARRAY_FLOAT_BASE_OFFSET").getInt(null);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return 16;
        }
    }
}
