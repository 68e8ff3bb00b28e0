package dev.jresnet.cpu;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.util.Random;

/** Obviously correct loops (in double) that the fast ops are checked against, and comparison helpers. */
final class Naive {
    private Naive() {}

    static Tensor random(long seed, int... dims) {
        Random rnd = new Random(seed);
        Tensor t = Tensor.zeros(dims);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (rnd.nextGaussian());
        }
        return t;
    }

    static float[] randomArray(long seed, int size) {
        Random rnd = new Random(seed);
        float[] d = new float[size];
        for (int i = 0; i < d.length; i++) {
            d[i] = rnd.nextFloat() * 2 - 1;
        }
        return d;
    }

    static void gemm(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = accumulate ? c[cOff + i * ldc + j] : 0;
                for (int p = 0; p < k; p++) {
                    sum += (double) a[aOff + i * lda + p] * b[bOff + p * ldb + j];
                }
                c[cOff + i * ldc + j] = (float) sum;
            }
        }
    }

    static Tensor conv2d(Tensor in, Tensor weight, Tensor bias, int stride, int pad) {
        return conv2d(in, weight, bias, stride, pad, 1);
    }

    /** The grouped convolution: weight [K, C/groups, R, S]; group g maps channels [g·C/G, ...) to [g·K/G, ...). */
    static Tensor conv2d(Tensor in, Tensor weight, Tensor bias, int stride, int pad, int groups) {
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
        int k = weight.dim(0), cg = weight.dim(1), r = weight.dim(2), s = weight.dim(3);
        int kg = k / groups;
        int p = (h + 2 * pad - r) / stride + 1, q = (w + 2 * pad - s) / stride + 1;
        Tensor out = Tensor.zeros(n, k, p, q);
        float[] x = in.data(), wt = weight.data(), y = out.data();
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < k; o++) {
                int c0 = o / kg * cg;
                for (int op = 0; op < p; op++) {
                    for (int oq = 0; oq < q; oq++) {
                        double sum = bias == null ? 0 : bias.data()[o];
                        for (int j = 0; j < cg; j++) {
                            for (int kr = 0; kr < r; kr++) {
                                for (int ks = 0; ks < s; ks++) {
                                    int ih = op * stride - pad + kr, iw = oq * stride - pad + ks;
                                    if (ih >= 0 && ih < h && iw >= 0 && iw < w) {
                                        sum += (double) x[((b * c + c0 + j) * h + ih) * w + iw]
                                                * wt[((o * cg + j) * r + kr) * s + ks];
                                    }
                                }
                            }
                        }
                        y[((b * k + o) * p + op) * q + oq] = (float) sum;
                    }
                }
            }
        }
        return out;
    }

    /** Max abs error, and the relative L2 error ||got - want|| / ||want||. */
    record Error(double maxAbs, double relL2) {
        @Override
        public String toString() {
            return String.format("max abs error %.3g, relative L2 error %.3g", maxAbs, relL2);
        }
    }

    static Error error(float[] got, float[] want) {
        double maxAbs = 0, diff2 = 0, ref2 = 0;
        for (int i = 0; i < want.length; i++) {
            double d = (double) got[i] - want[i];
            if (Double.isNaN(d)) {
                return new Error(Double.NaN, Double.NaN);
            }
            maxAbs = Math.max(maxAbs, Math.abs(d));
            diff2 += d * d;
            ref2 += (double) want[i] * want[i];
        }
        return new Error(maxAbs, Math.sqrt(diff2 / Math.max(ref2, 1e-300)));
    }

    static boolean hasNonZero(float[] x) {
        for (float v : x) {
            if (v != 0) {
                return true;
            }
        }
        return false;
    }

    static Shape shape(int... dims) {
        return Shape.of(dims);
    }

    /**
     * bn(conv3x3(in, stride, padding 1)) (+ residual) (ReLU) in float64, rounded once: the exact result the fast
     * paths' orders (Winograd, tap by tap) are judged against, beside the reference ops.
     */
    static Tensor convBn3x3Float64(Tensor in, Tensor weight, int stride, Tensor gamma, Tensor beta, Tensor mean,
                                  Tensor var, Tensor residual, boolean relu) {
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3), k = weight.dim(0);
        int p = (h - 1) / stride + 1, q = (w - 1) / stride + 1;
        Tensor out = Tensor.zeros(n, k, p, q);
        float[] x = in.data(), wt = weight.data(), y = out.data();
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < k; o++) {
                double sc = gamma.data()[o] / Math.sqrt(var.data()[o] + 1e-5);
                for (int i = 0; i < p; i++) {
                    for (int j = 0; j < q; j++) {
                        double sum = 0;
                        for (int ch = 0; ch < c; ch++) {
                            for (int r = 0; r < 3; r++) {
                                for (int s = 0; s < 3; s++) {
                                    int ih = i * stride - 1 + r, iw = j * stride - 1 + s;
                                    if (ih >= 0 && ih < h && iw >= 0 && iw < w) {
                                        sum += (double) x[((b * c + ch) * h + ih) * w + iw]
                                                * wt[((o * c + ch) * 3 + r) * 3 + s];
                                    }
                                }
                            }
                        }
                        int at = ((b * k + o) * p + i) * q + j;
                        double v = (sum - mean.data()[o]) * sc + beta.data()[o];
                        if (residual != null) {
                            v += residual.data()[at];
                        }
                        y[at] = (float) (relu ? Math.max(0, v) : v);
                    }
                }
            }
        }
        return out;
    }
}
