package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

/**
 * The CPU reference ops, NCHW float32, outputs first. Every op validates shapes and throws an
 * {@link IllegalArgumentException} naming the operand and both shapes. Ops are stateless and thread-safe:
 * they run on {@link Parallel}'s pool, keep scratch per thread, and may be called from several threads.
 */
public final class CpuOps {
    /** Elementwise ops hand each thread at least this many values, so task overhead stays negligible. */
    private static final int ELEMENTWISE_GRAIN = 1 << 15;

    private CpuOps() {}

    /**
     * out[N,K,P,Q] = conv(in[N,C,H,W], weight[K,C,R,S]) + bias[K] (bias may be null); square stride and
     * padding, P = (H + 2*padding - R) / stride + 1 and likewise Q. Computed as GEMM, see {@link Conv2d}.
     */
    public static void conv2d(Tensor out, Tensor in, Tensor weight, Tensor bias, int stride, int padding) {
        conv2d(Gemm.kernel(), out, in, weight, bias, stride, padding, 1);
    }

    /**
     * The grouped convolution (ResNeXt's 3x3): weight [K, C/groups, R, S]; group g maps input channels
     * [g·C/G, (g+1)·C/G) to output channels [g·K/G, (g+1)·K/G). groups = 1 is the ordinary convolution.
     */
    public static void conv2d(Tensor out, Tensor in, Tensor weight, Tensor bias, int stride, int padding, int groups) {
        conv2d(Gemm.kernel(), out, in, weight, bias, stride, padding, groups);
    }

    /**
     * {@link #conv2d(Tensor, Tensor, Tensor, Tensor, int, int, int)} on a given GEMM kernel rather than the active
     * one, so that both kernels can be checked and timed against each other in one JVM (the bench's kernel lab).
     */
    public static void conv2d(GemmKernel kernel, Tensor out, Tensor in, Tensor weight, Tensor bias, int stride,
                              int padding, int groups) {
        if (kernel == null) {
            throw new IllegalArgumentException("conv2d: kernel must not be null");
        }
        requireRank("conv2d input", in, 4, "[N,C,H,W]");
        requireRank("conv2d weight", weight, 4, "[K,C/groups,R,S]");
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
        int k = weight.dim(0), r = weight.dim(2), s = weight.dim(3);
        ChannelGroups.requireDivides("conv2d", groups, c, k);
        int cg = c / groups, kg = k / groups;
        if (weight.dim(1) != cg) {
            throw new IllegalArgumentException("conv2d weight: expected shape [K, C/groups=" + cg + ", R, S] to match input "
                    + in.shape() + " and " + groups + " groups, found " + weight.shape());
        }
        if (stride < 1 || padding < 0) {
            throw new IllegalArgumentException("conv2d: stride must be >= 1 and padding >= 0, found stride " + stride
                    + ", padding " + padding);
        }
        if (h + 2 * padding < r || w + 2 * padding < s) {
            throw new IllegalArgumentException("conv2d: kernel " + r + "x" + s + " is larger than the padded input "
                    + (h + 2 * padding) + "x" + (w + 2 * padding) + " (input " + in.shape() + ", padding " + padding + ")");
        }
        int p = (h + 2 * padding - r) / stride + 1;
        int q = (w + 2 * padding - s) / stride + 1;
        if (bias != null) {
            bias.require("conv2d bias", k);
        }
        out.require("conv2d output", n, k, p, q);
        if (out.data() == in.data()) {
            throw new IllegalArgumentException("conv2d: output must not share storage with the input");
        }
        float[] b = bias == null ? null : bias.data();
        if (groups == 1) {
            Conv2d.run(kernel, out.data(), in.data(), weight.data(), b, n, c, h, w, k, r, s, p, q, stride, padding);
            return;
        }
        float[] inG = new float[n * cg * h * w];
        float[] outG = new float[n * kg * p * q];
        int wPer = kg * cg * r * s;
        for (int g = 0; g < groups; g++) {
            ChannelGroups.gather(in.data(), n, c, h * w, g * cg, cg, inG);
            Conv2d.run(kernel, outG, inG, ChannelGroups.slice(weight.data(), g * wPer, wPer),
                    b == null ? null : ChannelGroups.slice(b, g * kg, kg), n, cg, h, w, kg, r, s, p, q, stride, padding);
            ChannelGroups.scatter(outG, n, k, p * q, g * kg, kg, out.data());
        }
    }

    /**
     * out = relu(conv(in, weight) + bias [+ residual]): a convolution whose batch norm was folded into its weight and
     * bias, then the block's residual (may be null) and ReLU. The CPU twin of the GPU engine's fused cuDNN call, run
     * as the separate reference ops.
     */
    public static void conv2dBiasRelu(Tensor out, Tensor in, Tensor weight, Tensor bias, Tensor residual, int stride,
                                      int padding, int groups) {
        if (bias == null) {
            throw new IllegalArgumentException("conv2dBiasRelu: bias must not be null");
        }
        conv2d(out, in, weight, bias, stride, padding, groups);
        if (residual != null) {
            add(out, out, residual, true);
        } else {
            relu(out, out);
        }
    }

    /**
     * Inference batch norm per channel of in[N,C,...]; out may be in; optionally fused ReLU.
     * As PyTorch's CPU kernel: per channel, scale = gamma / sqrt(var + eps) and shift = beta - mean * scale
     * in float32, then y = x * scale + shift.
     */
    public static void batchNorm(Tensor out, Tensor in, Tensor gamma, Tensor beta, Tensor mean, Tensor var,
                                 float eps, boolean relu) {
        if (in.rank() < 2) {
            throw new IllegalArgumentException("batchNorm input: expected rank >= 2 [N,C,...], found " + in.shape());
        }
        int n = in.dim(0), c = in.dim(1);
        int plane = in.size() / (n * c);
        gamma.require("batchNorm gamma", c);
        beta.require("batchNorm beta", c);
        mean.require("batchNorm mean", c);
        var.require("batchNorm var", c);
        out.shape().require(in.shape(), "batchNorm output");
        float[] scale = new float[c];
        float[] shift = new float[c];
        batchNormScaleShift(gamma, beta, mean, var, eps, scale, shift);
        float[] x = in.data(), y = out.data();
        Parallel.forRanges(n * c, Math.max(1, ELEMENTWISE_GRAIN / plane), (lo, hi) -> {
            for (int nc = lo; nc < hi; nc++) {
                float a = scale[nc % c], b = shift[nc % c];
                int base = nc * plane;
                if (relu) {
                    for (int i = base; i < base + plane; i++) {
                        y[i] = Math.max(x[i] * a + b, 0f);
                    }
                } else {
                    for (int i = base; i < base + plane; i++) {
                        y[i] = x[i] * a + b;
                    }
                }
            }
        });
    }

    /** The per-channel scale and shift of {@link #batchNorm}, computed exactly as it does. */
    static void batchNormScaleShift(Tensor gamma, Tensor beta, Tensor mean, Tensor var, float eps,
                                    float[] scale, float[] shift) {
        for (int ch = 0; ch < scale.length; ch++) {
            scale[ch] = gamma.data()[ch] / (float) Math.sqrt(var.data()[ch] + eps);
            shift[ch] = beta.data()[ch] - mean.data()[ch] * scale[ch];
        }
    }

    /** out = max(in, 0); out may be in. */
    public static void relu(Tensor out, Tensor in) {
        out.shape().require(in.shape(), "relu output");
        float[] x = in.data(), y = out.data();
        Parallel.forRanges(x.length, ELEMENTWISE_GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                y[i] = Math.max(x[i], 0f);
            }
        });
    }

    /**
     * Max pooling of in[N,C,H,W] with a square window into out[N,C,P,Q], P = (H + 2*padding - kernel) / stride + 1
     * (floor, as PyTorch's default ceil_mode=False). Padded positions never win: they are skipped, not zeros.
     */
    public static void maxPool(Tensor out, Tensor in, int kernel, int stride, int padding) {
        requireMaxPool(out, in, kernel, stride, padding);
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
        int p = (h + 2 * padding - kernel) / stride + 1;
        int q = (w + 2 * padding - kernel) / stride + 1;
        float[] x = in.data(), y = out.data();
        Parallel.forRanges(n * c, Math.max(1, ELEMENTWISE_GRAIN / (h * w)), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int src = plane * h * w, dst = plane * p * q;
                for (int op = 0; op < p; op++) {
                    int h0 = Math.max(0, op * stride - padding), h1 = Math.min(h, op * stride - padding + kernel);
                    for (int oq = 0; oq < q; oq++) {
                        int w0 = Math.max(0, oq * stride - padding), w1 = Math.min(w, oq * stride - padding + kernel);
                        float m = Float.NEGATIVE_INFINITY;
                        for (int ih = h0; ih < h1; ih++) {
                            for (int iw = w0; iw < w1; iw++) {
                                float v = x[src + ih * w + iw];
                                // NaN propagates, as in PyTorch
                                m = v > m || Float.isNaN(v) ? v : m;
                            }
                        }
                        y[dst + op * q + oq] = m;
                    }
                }
            }
        });
    }

    /** The checks of {@link #maxPool}, shared with {@link MaxPool2d}. */
    static void requireMaxPool(Tensor out, Tensor in, int kernel, int stride, int padding) {
        requireRank("maxPool input", in, 4, "[N,C,H,W]");
        if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel) {
            throw new IllegalArgumentException("maxPool: need kernel >= 1, stride >= 1 and 0 <= padding <= kernel/2, "
                    + "found kernel " + kernel + ", stride " + stride + ", padding " + padding);
        }
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
        if (h + 2 * padding < kernel || w + 2 * padding < kernel) {
            throw new IllegalArgumentException("maxPool: window " + kernel + " is larger than the padded input "
                    + in.shape() + " with padding " + padding);
        }
        int p = (h + 2 * padding - kernel) / stride + 1;
        int q = (w + 2 * padding - kernel) / stride + 1;
        out.require("maxPool output", n, c, p, q);
    }

    /** out[N,C] = mean over H,W of in[N,C,H,W] (summed in double, then rounded once). */
    public static void globalAvgPool(Tensor out, Tensor in) {
        requireRank("globalAvgPool input", in, 4, "[N,C,H,W]");
        int n = in.dim(0), c = in.dim(1), plane = in.dim(2) * in.dim(3);
        out.require("globalAvgPool output", n, c);
        float[] x = in.data(), y = out.data();
        Parallel.forRanges(n * c, Math.max(1, ELEMENTWISE_GRAIN / plane), (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                double sum = 0;
                for (int j = i * plane; j < (i + 1) * plane; j++) {
                    sum += x[j];
                }
                y[i] = (float) (sum / plane);
            }
        });
    }

    /**
     * out[N,O] = in[N,I] * weight[O,I]^T + bias[O] (bias may be null). Computed as out^T[O,N] =
     * weight[O,I] · in^T[I,N], so the large operand (the weights) is the GEMM's left one, read as stored.
     */
    public static void linear(Tensor out, Tensor in, Tensor weight, Tensor bias) {
        requireRank("linear input", in, 2, "[N,I]");
        requireRank("linear weight", weight, 2, "[O,I]");
        int n = in.dim(0), i = in.dim(1), o = weight.dim(0);
        if (weight.dim(1) != i) {
            throw new IllegalArgumentException("linear weight: expected shape [O, I=" + i + "] to match input "
                    + in.shape() + ", found " + weight.shape());
        }
        if (bias != null) {
            bias.require("linear bias", o);
        }
        out.require("linear output", n, o);
        float[] xT = new float[i * n];               // [I, N]
        transpose(in.data(), n, i, xT);
        float[] yT = new float[o * n];               // [O, N]
        Gemm.gemm(o, n, i, weight.data(), 0, i, xT, 0, n, yT, 0, n, false);
        addBiasTransposed(out.data(), yT, bias == null ? null : bias.data(), n, o);
    }

    /** xT [cols, rows] = x [rows, cols]ᵀ: a linear layer's input as the GEMM's right operand. */
    static void transpose(float[] x, int rows, int cols, float[] xT) {
        for (int b = 0; b < rows; b++) {
            for (int j = 0; j < cols; j++) {
                xT[j * rows + b] = x[b * cols + j];
            }
        }
    }

    /** y [n, o] = yT [o, n]ᵀ + bias (bias null: none). */
    static void addBiasTransposed(float[] y, float[] yT, float[] bias, int n, int o) {
        for (int b = 0; b < n; b++) {
            for (int j = 0; j < o; j++) {
                y[b * o + j] = yT[j * n + b] + (bias == null ? 0f : bias[j]);
            }
        }
    }

    /** out = a + b, optionally followed by ReLU; out may be a or b. */
    public static void add(Tensor out, Tensor a, Tensor b, boolean relu) {
        b.shape().require(a.shape(), "add operand b");
        out.shape().require(a.shape(), "add output");
        float[] x = a.data(), z = b.data(), y = out.data();
        Parallel.forRanges(x.length, ELEMENTWISE_GRAIN, (lo, hi) -> {
            if (relu) {
                for (int i = lo; i < hi; i++) {
                    y[i] = Math.max(x[i] + z[i], 0f);
                }
            } else {
                for (int i = lo; i < hi; i++) {
                    y[i] = x[i] + z[i];
                }
            }
        });
    }

    /** Row-wise softmax of in[N,K] into out[N,K], numerically stable (max subtracted); out may be in. */
    public static void softmax(Tensor out, Tensor in) {
        requireRank("softmax input", in, 2, "[N,K]");
        out.shape().require(in.shape(), "softmax output");
        int n = in.dim(0), k = in.dim(1);
        float[] x = in.data(), y = out.data();
        for (int row = 0; row < n; row++) {
            int base = row * k;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                max = Math.max(max, x[base + j]);
            }
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += Math.exp(x[base + j] - max);
            }
            for (int j = 0; j < k; j++) {
                y[base + j] = (float) (Math.exp(x[base + j] - max) / sum);
            }
        }
    }

    private static void requireRank(String what, Tensor t, int rank, String layout) {
        if (t.rank() != rank) {
            throw new IllegalArgumentException(what + ": expected rank " + rank + " " + layout + ", found " + t.shape());
        }
    }
}
