package dev.jresnet.cuda;

import dev.jresnet.tensor.Half;

/**
 * The host-side conversions between jresnet's fp32 NCHW arrays and what the fp16 precision keeps on the device:
 * fp16 bits, channels last. A filter [K][C][R][S] is laid out as [K][R][S][C] by the same conversion as a batch
 * [N][C][H][W] to [N][H][W][C]. Rounding is to nearest even; widening back is exact.
 */
public final class HalfLayouts {
    private HalfLayouts() {}

    /** [N][C][H][W] fp32 to [N][H][W][C] fp16 bits (a filter: K, C, R, S for n, c, h, w). */
    public static short[] nchwToNhwcHalf(float[] a, int n, int c, int h, int w) {
        return nchwToNhwcHalf(a, n, c, h, w, c);
    }

    /**
     * [N][C][H][W] fp32 to [N][H][W][cStored] fp16 bits with channels C..cStored-1 zero (a filter whose input is
     * stored with padded channels).
     */
    public static short[] nchwToNhwcHalf(float[] a, int n, int c, int h, int w, int cStored) {
        if (cStored < c) {
            throw new IllegalArgumentException(cStored + " stored channels < " + c + " channels");
        }
        requireLength(a.length, n, c, h, w);
        short[] out = new short[Math.toIntExact((long) n * h * w * cStored)];
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        out[((b * h + y) * w + x) * cStored + ch] = Half.floatToF16(a[((b * c + ch) * h + y) * w + x]);
                    }
                }
            }
        }
        return out;
    }

    /** [N][H][W][C] fp16 bits to [N][C][H][W] fp32 in {@code out}. */
    public static void nhwcHalfToNchw(short[] a, float[] out, int n, int c, int h, int w) {
        requireLength(a.length, n, c, h, w);
        requireLength(out.length, n, c, h, w);
        for (int b = 0; b < n; b++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int base = ((b * h + y) * w + x) * c;
                    for (int ch = 0; ch < c; ch++) {
                        out[((b * c + ch) * h + y) * w + x] = Half.f16ToFloat(a[base + ch]);
                    }
                }
            }
        }
    }

    /** fp32 to fp16 bits, same order. */
    public static short[] toHalf(float[] v) {
        short[] out = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Half.floatToF16(v[i]);
        }
        return out;
    }

    private static void requireLength(int length, int n, int c, int h, int w) {
        if (length != (long) n * c * h * w) {
            throw new IllegalArgumentException(length + " values are not [" + n + "][" + c + "][" + h + "][" + w + "]");
        }
    }
}
