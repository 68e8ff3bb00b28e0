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
        // The threads take ranges of (image, block); 16 lanes (512-bit blocks) are summed in 16 locals, 16
        // independent chains of additions, where an array of sums (read and written per pixel) took 1.3 ms at batch 8
        // against ONNX Runtime's 0.2.
        Parallel.forRanges(n * blocks, 16, (lo, hi) -> {
            for (int nb = lo; nb < hi; nb++) {
                if (lanes == 16) {
                    sum16(s, nb, h, w, d);
                } else {
                    sumLanes(s, nb, h, w, lanes, d);
                }
            }
        });
    }

    /** Block nb of 16 lanes: each lane's sum in double, pixel by pixel in row-major order, over H*W. */
    private static void sum16(float[] s, int nb, int h, int w, float[] d) {
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        double a8 = 0, a9 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0, a14 = 0, a15 = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0, i = (nb * (h + 2) + y + 1) * (w + 2) * 16 + 16; x < w; x++, i += 16) {
                a0 += s[i];
                a1 += s[i + 1];
                a2 += s[i + 2];
                a3 += s[i + 3];
                a4 += s[i + 4];
                a5 += s[i + 5];
                a6 += s[i + 6];
                a7 += s[i + 7];
                a8 += s[i + 8];
                a9 += s[i + 9];
                a10 += s[i + 10];
                a11 += s[i + 11];
                a12 += s[i + 12];
                a13 += s[i + 13];
                a14 += s[i + 14];
                a15 += s[i + 15];
            }
        }
        int o = nb * 16, n = h * w;
        d[o] = (float) (a0 / n);
        d[o + 1] = (float) (a1 / n);
        d[o + 2] = (float) (a2 / n);
        d[o + 3] = (float) (a3 / n);
        d[o + 4] = (float) (a4 / n);
        d[o + 5] = (float) (a5 / n);
        d[o + 6] = (float) (a6 / n);
        d[o + 7] = (float) (a7 / n);
        d[o + 8] = (float) (a8 / n);
        d[o + 9] = (float) (a9 / n);
        d[o + 10] = (float) (a10 / n);
        d[o + 11] = (float) (a11 / n);
        d[o + 12] = (float) (a12 / n);
        d[o + 13] = (float) (a13 / n);
        d[o + 14] = (float) (a14 / n);
        d[o + 15] = (float) (a15 / n);
    }

    /** As {@link #sum16}, for any number of lanes. */
    private static void sumLanes(float[] s, int nb, int h, int w, int lanes, float[] d) {
        for (int lane = 0; lane < lanes; lane++) {
            double sum = 0;
            for (int y = 0; y < h; y++) {
                for (int x = 0, i = (nb * (h + 2) + y + 1) * (w + 2) * lanes + lanes + lane; x < w; x++, i += lanes) {
                    sum += s[i];
                }
            }
            d[nb * lanes + lane] = (float) (sum / (h * w));
        }
    }
}
