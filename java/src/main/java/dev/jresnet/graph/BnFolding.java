package dev.jresnet.graph;

import dev.jresnet.nn.ConvBn;
import dev.jresnet.tensor.Tensor;

import java.util.Map;

/**
 * Folds an inference-mode batch norm into the convolution before it:
 * {@code w'[k] = w[k] * s[k]} and {@code b'[k] = beta[k] - mean[k] * s[k]} with
 * {@code s[k] = gamma[k] / sqrt(var[k] + eps)}, computed in double and rounded once to float.
 */
public final class BnFolding {
    /** A convolution with its batch norm folded in: weights [K][C/groups][R][S] (fp32) and bias [K]. */
    public record Folded(float[] weight, float[] bias) {}

    /** torchvision's BatchNorm2d eps, as the double PyTorch passes to its kernels. */
    public static final double EPS = 1e-5;

    private BnFolding() {}

    /** The folded weight and bias of {@code conv}'s convolution and batch norm, reading {@code tensors} by name. */
    public static Folded fold(ConvBn conv, Map<String, Tensor> tensors) {
        int k = conv.outChannels();
        double[] scale = scales(conv, tensors);
        float[] w = tensors.get(conv.weight()).data();
        int per = w.length / k;
        float[] folded = new float[w.length];
        for (int o = 0; o < k; o++) {
            for (int i = 0; i < per; i++) {
                folded[o * per + i] = (float) (w[o * per + i] * scale[o]);
            }
        }
        return new Folded(folded, toFloat(shifts(conv, tensors, scale)));
    }

    /** The folded bias in double (so that two can be added before the one rounding). */
    public static double[] shifts(ConvBn conv, Map<String, Tensor> tensors) {
        return shifts(conv, tensors, scales(conv, tensors));
    }

    private static double[] shifts(ConvBn conv, Map<String, Tensor> tensors, double[] scale) {
        float[] beta = tensors.get(conv.beta()).data(), mean = tensors.get(conv.runningMean()).data();
        double[] b = new double[scale.length];
        for (int c = 0; c < b.length; c++) {
            b[c] = beta[c] - (double) mean[c] * scale[c];
        }
        return b;
    }

    static double[] scales(ConvBn conv, Map<String, Tensor> tensors) {
        float[] gamma = tensors.get(conv.gamma()).data(), var = tensors.get(conv.runningVar()).data();
        double[] s = new double[conv.outChannels()];
        for (int c = 0; c < s.length; c++) {
            s[c] = gamma[c] / Math.sqrt((double) var[c] + EPS);
        }
        return s;
    }

    public static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
