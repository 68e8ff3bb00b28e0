package dev.jresnet.tensor;

import java.util.Arrays;

/**
 * A dense float32 tensor on the Java heap, row-major (the last dimension varies fastest).
 * The array is exposed on purpose: the CPU reference ops index it directly, as the C they mirror would.
 */
public final class Tensor {
    private final Shape shape;
    private final float[] data;

    public Tensor(Shape shape, float[] data) {
        if (data.length != shape.size()) {
            throw new IllegalArgumentException("tensor of shape " + shape + " needs " + shape.size()
                    + " values, got " + data.length);
        }
        this.shape = shape;
        this.data = data;
    }

    public static Tensor zeros(int... dims) {
        Shape s = Shape.of(dims);
        return new Tensor(s, new float[s.size()]);
    }

    public static Tensor zeros(Shape s) {
        return new Tensor(s, new float[s.size()]);
    }

    public Shape shape() {
        return shape;
    }

    public int dim(int i) {
        return shape.dim(i);
    }

    public int rank() {
        return shape.rank();
    }

    public int size() {
        return data.length;
    }

    /** The backing array (not a copy). */
    public float[] data() {
        return data;
    }

    /** Same data, another shape with the same number of elements. */
    public Tensor reshape(int... dims) {
        return new Tensor(Shape.of(dims), data);
    }

    public Tensor copy() {
        return new Tensor(shape, data.clone());
    }

    /** Throws an {@link IllegalArgumentException} naming {@code what} unless the shape equals {@code dims}. */
    public Tensor require(String what, int... dims) {
        shape.require(Shape.of(dims), what);
        return this;
    }

    /** Throws an {@link IllegalArgumentException} naming {@code what} and the index unless every value is finite. */
    public Tensor requireFinite(String what) {
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite(data[i])) {
                throw new IllegalArgumentException(what + " " + shape + " holds " + data[i] + " at flat index " + i);
            }
        }
        return this;
    }

    @Override
    public String toString() {
        return "Tensor" + shape + (data.length <= 8 ? Arrays.toString(data) : "");
    }
}
