package dev.jresnet.testing;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.cpu.Gemm;
import dev.jresnet.cpu.Parallel;
import dev.jresnet.cpu.PlainGemm;
import dev.jresnet.tensor.Tensor;

/**
 * How a convolution's fp32 accumulator adds its products: the part of a GPU's arithmetic that no reference can
 * copy, because cuDNN and cuBLAS choose their order (tiles, split-K) and tensor cores add in blocks with their own
 * rounding. Each constant is an equally valid fp32 accumulation; the differences between them measure what the
 * GPU's own choice may change, which is what {@link Tolerances} is built from.
 *
 * <p>The operands given are already rounded as the precision wants (fp16 or TF32 values, whose products are exact in
 * fp32), so the constants differ only in how the sums round.
 */
public enum Summation {
    /** The CPU reference's im2col + GEMM with the active kernel ({@link CpuOps#conv2d}). */
    GEMM,
    /** The same with the plain-Java kernel: another blocking, products and sums in another order. */
    PLAIN_GEMM,
    /** Every product summed in double, rounded once to fp32: the correctly rounded dot product (nearly). */
    EXACT,
    /**
     * A model of how tensor cores add, after Fasi, Higham, Mikaitis and Pranesh, "Numerical behavior of NVIDIA tensor
     * cores" (PeerJ Computer Science 7:e330, 2021): products exact, a block of them added to the fp32 accumulator in
     * one step that rounds toward zero; here blocks of 8, the reduction ordered channels fastest (NHWC). Not bit-exact
     * to any GPU: it stands for the size of their accumulation error.
     */
    TENSOR_CORE;

    /** Products a {@link #TENSOR_CORE} step adds to the accumulator. */
    static final int BLOCK = 8;

    /**
     * out[N,K,P,Q] = conv(in[N,C,H,W], weight[K,C/groups,R,S]) with no bias, accumulated this way; P and Q from
     * the square stride and padding.
     */
    public Tensor conv2d(Tensor in, Tensor weight, int stride, int pad, int groups) {
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
        int k = weight.dim(0), r = weight.dim(2), s = weight.dim(3);
        int p = (h + 2 * pad - r) / stride + 1, q = (w + 2 * pad - s) / stride + 1;
        Tensor out = Tensor.zeros(n, k, p, q);
        switch (this) {
            case GEMM -> CpuOps.conv2d(Gemm.kernel(), out, in, weight, null, stride, pad, groups);
            case PLAIN_GEMM -> CpuOps.conv2d(new PlainGemm(), out, in, weight, null, stride, pad, groups);
            default -> dotConv(out, in, weight, stride, pad, groups);
        }
        return out;
    }

    /** out[N,O] = in[N,I] · weight[O,I]ᵀ, accumulated this way (a 1x1 convolution of [N,I,1,1]). */
    public Tensor linear(Tensor in, Tensor weight) {
        int n = in.dim(0), i = in.dim(1), o = weight.dim(0);
        return conv2d(in.reshape(n, i, 1, 1), weight.reshape(o, i, 1, 1), 1, 0, 1).reshape(n, o);
    }

    /** {@link #EXACT} and {@link #TENSOR_CORE}: one dot product per output over (r, s, c), channels fastest. */
    private void dotConv(Tensor out, Tensor in, Tensor weight, int stride, int pad, int groups) {
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
        int k = weight.dim(0), r = weight.dim(2), s = weight.dim(3);
        int p = out.dim(2), q = out.dim(3);
        int cg = c / groups, kg = k / groups, len = r * s * cg;
        float[] x = in.data(), wt = weight.data(), y = out.data();
        // weights [K][C/g][R][S] -> [K][R][S][C/g]
        float[] a = new float[k * len];
        for (int o = 0; o < k; o++) {
            for (int ch = 0; ch < cg; ch++) {
                for (int i = 0; i < r * s; i++) {
                    a[o * len + i * cg + ch] = wt[(o * cg + ch) * r * s + i];
                }
            }
        }
        boolean tensorCore = this == TENSOR_CORE;
        Parallel.forRanges(n * groups * p, 1, (lo, hi) -> {
            float[] col = new float[q * len];   // [Q][R][S][C/g]: one output row's patches
            for (int job = lo; job < hi; job++) {
                int b = job / (groups * p), g = job / p % groups, y0 = job % p;
                java.util.Arrays.fill(col, 0f);
                for (int x0 = 0; x0 < q; x0++) {
                    for (int ky = 0; ky < r; ky++) {
                        int iy = y0 * stride - pad + ky;
                        if (iy < 0 || iy >= h) {
                            continue;
                        }
                        for (int kx = 0; kx < s; kx++) {
                            int ix = x0 * stride - pad + kx;
                            if (ix < 0 || ix >= w) {
                                continue;
                            }
                            int dst = x0 * len + (ky * s + kx) * cg;
                            int src = ((b * c + g * cg) * h + iy) * w + ix;
                            for (int ch = 0; ch < cg; ch++) {
                                col[dst + ch] = x[src + ch * h * w];
                            }
                        }
                    }
                }
                for (int o = g * kg; o < (g + 1) * kg; o++) {
                    int base = ((b * k + o) * p + y0) * q;
                    for (int x0 = 0; x0 < q; x0++) {
                        y[base + x0] = tensorCore ? blocked(a, o * len, col, x0 * len, len)
                                : exact(a, o * len, col, x0 * len, len);
                    }
                }
            }
        });
    }

    private static float exact(float[] a, int ao, float[] b, int bo, int len) {
        double sum = 0;
        for (int i = 0; i < len; i++) {
            sum += (double) a[ao + i] * b[bo + i];
        }
        return (float) sum;
    }

    private static float blocked(float[] a, int ao, float[] b, int bo, int len) {
        float acc = 0f;
        for (int i0 = 0; i0 < len; i0 += BLOCK) {
            double t = acc;
            for (int i = i0; i < Math.min(len, i0 + BLOCK); i++) {
                t += (double) a[ao + i] * b[bo + i];
            }
            acc = towardZero(t);
        }
        return acc;
    }

    /** {@code t} rounded to fp32 toward zero. */
    static float towardZero(double t) {
        float f = (float) t;
        if (f > 0 && f > t) {
            return Math.nextDown(f);
        }
        if (f < 0 && f < t) {
            return Math.nextUp(f);
        }
        return f;
    }
}
