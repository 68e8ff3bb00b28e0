package dev.jresnet.cuda;

import dev.jresnet.nn.BatchNorm2d;
import dev.jresnet.nn.Conv2d;

/**
 * Folds an inference-mode BatchNorm into the convolution before it:
 * {@code w'[k] = w[k] * s[k]} and {@code b'[k] = beta[k] - mean[k] * s[k]} with
 * {@code s[k] = gamma[k] / sqrt(var[k] + eps)}, computed in double and rounded once to float.
 */
public final class BnFolding {
    /** A convolution with its BatchNorm folded in: weights [K][C][R][S] (fp32) and bias [K]. */
    public record Folded(float[] weight, float[] bias) {}

    /** torchvision's BatchNorm2d eps, as the double PyTorch passes to its kernels. */
    public static final double EPS = 1e-5;

    private BnFolding() {}

    public static Folded fold(Conv2d conv, BatchNorm2d bn) {
        int k = conv.outChannels;
        if (bn.channels != k) {
            throw new IllegalArgumentException("cannot fold " + bn.name + " (" + bn.channels + " channels) into "
                    + conv.name + " (" + k + " output channels)");
        }
        double[] scale = scales(bn);
        float[] w = conv.weight.data();
        int per = w.length / k;
        float[] folded = new float[w.length];
        for (int o = 0; o < k; o++) {
            for (int i = 0; i < per; i++) {
                folded[o * per + i] = (float) (w[o * per + i] * scale[o]);
            }
        }
        return new Folded(folded, toFloat(shifts(bn, scale)));
    }

    /** The folded bias in double (so that two can be added before the one rounding). */
    public static double[] shifts(BatchNorm2d bn) {
        return shifts(bn, scales(bn));
    }

    static double[] scales(BatchNorm2d bn) {
        double[] s = new double[bn.channels];
        for (int c = 0; c < bn.channels; c++) {
            s[c] = bn.weight.data()[c] / Math.sqrt((double) bn.runningVar.data()[c] + EPS);
        }
        return s;
    }

    private static double[] shifts(BatchNorm2d bn, double[] scale) {
        double[] b = new double[bn.channels];
        for (int c = 0; c < bn.channels; c++) {
            b[c] = bn.bias.data()[c] - (double) bn.runningMean.data()[c] * scale[c];
        }
        return b;
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /** [K][C][R][S] fp32 to [K][R][S][C] fp16 bits (round to nearest even): the NHWC filter layout. */
    public static short[] kcrsToKrscHalf(float[] w, int k, int c, int r, int s) {
        if (w.length != k * c * r * s) {
            throw new IllegalArgumentException("filter of " + w.length + " values is not [" + k + "][" + c + "]["
                    + r + "][" + s + "]");
        }
        short[] out = new short[w.length];
        for (int o = 0; o < k; o++) {
            for (int i = 0; i < c; i++) {
                for (int y = 0; y < r; y++) {
                    for (int x = 0; x < s; x++) {
                        out[((o * r + y) * s + x) * c + i] = dev.jresnet.tensor.Half.floatToF16(w[((o * c + i) * r + y) * s + x]);
                    }
                }
            }
        }
        return out;
    }

    /** fp32 to fp16 bits, same order. */
    public static short[] toHalf(float[] v) {
        short[] out = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = dev.jresnet.tensor.Half.floatToF16(v[i]);
        }
        return out;
    }
}
