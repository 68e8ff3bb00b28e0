package dev.jresnet.weights;

import dev.jresnet.io.Limits;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Half;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** Turns stored elements (any supported dtype, any strides) into a {@link WeightSet.Entry}; shared by both readers. */
final class Elements {
    private Elements() {}

    /**
     * Gathers the elements at {@code base + sum(index[i] * stride[i]) * type.bytes()} of a little-endian buffer
     * into a contiguous row-major entry. The caller has checked that every such element lies inside the buffer.
     */
    static WeightSet.Entry gather(String name, DataType type, long[] dims, ByteBuffer buf, long base, long[] stride) {
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            d[i] = (int) dims[i];
        }
        int n = Shape.of(d).size();
        int rank = d.length;
        int[] idx = new int[rank];
        long addr = base; // in bytes
        float[] f = type.isFloatingPoint() ? new float[n] : null;
        long[] l = f == null ? new long[n] : null;
        int eb = type.bytes();
        for (int k = 0; k < n; k++) {
            int a = (int) addr;
            if (f != null) {
                f[k] = switch (type) {
                    case F32 -> buf.getFloat(a);
                    case F16 -> Half.f16ToFloat(buf.getShort(a));
                    case BF16 -> Half.bf16ToFloat(buf.getShort(a));
                    case F64 -> (float) buf.getDouble(a);
                    default -> throw new IllegalStateException(type.toString());
                };
            } else {
                l[k] = switch (type) {
                    case I64 -> buf.getLong(a);
                    case I32 -> buf.getInt(a);
                    case U8 -> buf.get(a) & 0xff;
                    default -> throw new IllegalStateException(type.toString());
                };
            }
            // odometer over the dims, last fastest
            for (int i = rank - 1; i >= 0; i--) {
                if (++idx[i] < d[i]) {
                    addr += stride[i] * eb;
                    break;
                }
                addr -= (long) (d[i] - 1) * stride[i] * eb;
                idx[i] = 0;
            }
        }
        Tensor t = f != null ? new Tensor(Shape.of(d), f) : null;
        return new WeightSet.Entry(name, type, t, l, d);
    }

    /**
     * Checks dims fit a {@link Tensor}: positive ints (a Tensor cannot be empty) and at most
     * {@link Limits#TENSOR_ELEMENTS} elements, so that nothing is allocated for a shape a file merely declares
     * (a view with stride 0 could otherwise declare 2^31 elements of a one-element storage).
     */
    static String checkDims(long[] dims) {
        for (long x : dims) {
            if (x <= 0 || x > Integer.MAX_VALUE) {
                return "shape " + text(dims) + " has a "
                        + (x == 0 ? "zero dimension (empty tensors are not supported)" : "dimension out of range");
            }
        }
        // every dim is in 1..2^31-1, so the product saturates rather than wraps
        long n = 1;
        for (long x : dims) {
            n = n > Long.MAX_VALUE / x ? Long.MAX_VALUE : n * x;
        }
        if (n > Integer.MAX_VALUE || !Limits.TENSOR_ELEMENTS.allows(n)) {
            return Limits.TENSOR_ELEMENTS.exceeded("shape " + text(dims) + " elements", n);
        }
        return null;
    }

    /** "[2, 3]", cut after 8 dims (a hostile file can declare a million). */
    static String text(long[] dims) {
        if (dims.length <= 8) {
            return Arrays.toString(dims);
        }
        return Arrays.toString(Arrays.copyOf(dims, 8)).replace("]", ", ... (rank " + dims.length + ")]");
    }

    static long count(long[] dims) {
        long n = 1;
        for (long x : dims) {
            n *= x;
        }
        return n;
    }
}
