package dev.jresnet.tensor;

import java.util.Arrays;

/** An immutable tensor shape, outermost dimension first (NCHW for activations, KCRS for filters). */
public final class Shape {
    private final int[] dims;

    private Shape(int[] dims) {
        this.dims = dims;
    }

    /** A shape with the given dimensions; every dimension must be positive (a scalar has none). */
    public static Shape of(int... dims) {
        for (int d : dims) {
            if (d <= 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has a non-positive dimension");
            }
        }
        long n = 1;
        for (int d : dims) {
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " holds more than 2^31-1 elements");
            }
        }
        return new Shape(dims.clone());
    }

    public int rank() {
        return dims.length;
    }

    public int dim(int i) {
        return dims[i < 0 ? dims.length + i : i];
    }

    public int[] dims() {
        return dims.clone();
    }

    /** Number of elements: the product of the dimensions (1 for a scalar). */
    public int size() {
        int n = 1;
        for (int d : dims) {
            n *= d;
        }
        return n;
    }

    /** Throws an {@link IllegalArgumentException} naming {@code what} unless this shape equals {@code expected}. */
    public void require(Shape expected, String what) {
        if (!equals(expected)) {
            throw new IllegalArgumentException(what + ": expected shape " + expected + ", found " + this);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
