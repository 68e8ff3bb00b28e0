package dev.jresnet.cpu;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

/**
 * The blocked-channel layout of {@link DirectConv}'s activations: a batch [N, C, H, W] held as
 * [N, C/L, H+2, W+2, L], L channels of one pixel adjacent (L = the vector's floats) and a border of one zero pixel
 * around each plane, so that a 3x3 convolution with padding 1 reads its padding instead of testing for it. Only the
 * interior is ever written: an array keeps its zero border for as long as it is used at the same blocked shape
 * ({@link #zeroBorder} makes it again).
 */
public final class Blocked {
    private Blocked() {}

    /** The blocked shape [N, C/L, H+2, W+2, L] of a batch [N, C, H, W]; C must be a multiple of L. */
    public static Shape shape(int n, int c, int h, int w, int lanes) {
        if (c % lanes != 0) {
            throw new IllegalArgumentException("blocked layout: " + c + " channels are not a multiple of " + lanes);
        }
        return Shape.of(n, c / lanes, h + 2, w + 2, lanes);
    }

    /** Whether t is a blocked tensor (rank 5) rather than [N, C, H, W]. */
    public static boolean is(Tensor t) {
        return t.rank() == 5;
    }

    /** The logical shape [N, C, H, W] of a blocked tensor. */
    public static Shape logical(Tensor b) {
        return Shape.of(b.dim(0), b.dim(1) * b.dim(4), b.dim(2) - 2, b.dim(3) - 2);
    }

    /** Zeroes the border of a blocked tensor (for an array that held something else), leaving the interior. */
    public static void zeroBorder(Tensor b) {
        int planes = b.dim(0) * b.dim(1), hp = b.dim(2), wp = b.dim(3), lanes = b.dim(4), row = wp * lanes;
        float[] d = b.data();
        for (int pl = 0; pl < planes; pl++) {
            int base = pl * hp * row;
            java.util.Arrays.fill(d, base, base + row, 0f);
            for (int y = 1; y < hp - 1; y++) {
                java.util.Arrays.fill(d, base + y * row, base + y * row + lanes, 0f);
                java.util.Arrays.fill(d, base + (y + 1) * row - lanes, base + (y + 1) * row, 0f);
            }
            java.util.Arrays.fill(d, base + (hp - 1) * row, base + hp * row, 0f);
        }
    }

    /** dst (blocked, zero border) = src [N, C, H, W]. */
    public static void fromNchw(Tensor dst, Tensor src) {
        logical(dst).require(src.shape(), "blocked copy of " + src.shape());
        int n = src.dim(0), c = src.dim(1), h = src.dim(2), w = src.dim(3), lanes = dst.dim(4);
        float[] s = src.data(), d = dst.data();
        Parallel.forEach(n * c / lanes, nb -> {
            for (int lane = 0; lane < lanes; lane++) {
                int si = (nb * lanes + lane) * h * w;
                for (int y = 0; y < h; y++) {
                    int di = (nb * (h + 2) + y + 1) * (w + 2) * lanes + lanes + lane;
                    for (int x = 0; x < w; x++, si++, di += lanes) {
                        d[di] = s[si];
                    }
                }
            }
        });
    }

    /** dst [N, C, H, W] = the interior of src (blocked). */
    public static void toNchw(Tensor dst, Tensor src) {
        dst.shape().require(logical(src), "unblocked copy of " + src.shape());
        int n = dst.dim(0), c = dst.dim(1), h = dst.dim(2), w = dst.dim(3), lanes = src.dim(4);
        float[] s = src.data(), d = dst.data();
        Parallel.forEach(n * c / lanes, nb -> {
            for (int lane = 0; lane < lanes; lane++) {
                int di = (nb * lanes + lane) * h * w;
                for (int y = 0; y < h; y++) {
                    int si = (nb * (h + 2) + y + 1) * (w + 2) * lanes + lanes + lane;
                    for (int x = 0; x < w; x++, di++, si += lanes) {
                        d[di] = s[si];
                    }
                }
            }
        });
    }

    /**
     * dst [N, C] = the mean of each channel's H x W interior, summed in double pixel by pixel in row-major order
     * and divided by H*W, as {@link CpuOps#globalAvgPool} does (so bitwise its result).
     */
    public static void globalAvgPool(Tensor dst, Tensor src) {
        Shape logical = logical(src);
        dst.require("blocked global average pool output", logical.dim(0), logical.dim(1));
        int n = src.dim(0), blocks = src.dim(1), h = logical.dim(2), w = logical.dim(3), lanes = src.dim(4);
        float[] s = src.data(), d = dst.data();
        double[] sums = new double[lanes];
        for (int nb = 0; nb < n * blocks; nb++) {
            java.util.Arrays.fill(sums, 0);
            for (int y = 0; y < h; y++) {
                int si = (nb * (h + 2) + y + 1) * (w + 2) * lanes + lanes;
                for (int x = 0; x < w; x++, si += lanes) {
                    for (int lane = 0; lane < lanes; lane++) {
                        sums[lane] += s[si + lane];
                    }
                }
            }
            for (int lane = 0; lane < lanes; lane++) {
                d[nb * lanes + lane] = (float) (sums[lane] / (h * w));
            }
        }
    }
}
