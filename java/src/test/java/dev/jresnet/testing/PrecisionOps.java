package dev.jresnet.testing;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;

/**
 * The inference ops of {@code dev.jresnet.cuda.GpuOps} on the CPU, rounding where a GPU precision rounds
 * ({@code CudaPrecision}), so that a GPU result can be judged against what its precision allows rather than against
 * exact fp32:
 * <ul>
 *   <li>FP32: nothing rounds (pedantic cuBLAS, FMA-only cuDNN);</li>
 *   <li>TF32: activations, weights and biases stay fp32; both operands of every convolution and classifier product are
 *       rounded to TF32 ({@link GpuRounding#tf32}) unless the convolution's algorithm runs FMA math; sums are fp32;</li>
 *   <li>FP16: every stored tensor (input, activations, folded filters and biases) is fp16; products are exact and sums
 *       fp32; the fused call {@code relu(conv + bias + residual)} is computed in fp32 and rounded once (cuDNN's
 *       PSEUDO_HALF configuration), the unfused fallback rounds after the convolution and after each add; the head
 *       reads fp16 features, pools in fp32 and runs the classifier in fp32.</li>
 * </ul>
 * Inputs are the host fp32 tensors a test uploads; each op stores them as the precision does (fp16 rounds, as
 * {@code GpuOps.upload} does) before computing. Outputs are new tensors holding exactly the values the precision
 * would store. The accumulation order is this object's {@link Summation}.
 */
public final class PrecisionOps {
    private final Precision precision;
    private final Summation summation;
    private final GpuRounding.Tf32 tf32;

    public PrecisionOps(Precision precision, Summation summation, GpuRounding.Tf32 tf32) {
        this.precision = precision;
        this.summation = summation;
        this.tf32 = tf32;
    }

    /** {@code precision} with the CPU's GEMM summation and TF32 rounded to nearest: the reference. */
    public static PrecisionOps of(Precision precision) {
        return new PrecisionOps(precision, Summation.GEMM, GpuRounding.Tf32.NEAREST);
    }

    public Precision precision() {
        return precision;
    }

    public Summation summation() {
        return summation;
    }

    /** {@code t} as the precision stores it (fp16 rounds; fp32 and tf32 keep it): a new tensor or {@code t}. */
    public Tensor stored(Tensor t) {
        return precision == Precision.FP16 ? GpuRounding.half(t) : t;
    }

    /**
     * out = relu(conv(in, weight) + bias [+ residual]) ({@code GpuOps.conv2dBiasRelu}); residual may be null.
     * {@code fused}: cuDNN's one call (one rounding); false: its fallback, convolution then adds. {@code tensorOps}:
     * false when the algorithm runs FMA math, which in tf32 means no TF32 rounding.
     */
    public Tensor conv2dBiasRelu(Tensor in, Tensor weight, Tensor bias, Tensor residual, int stride, int pad,
                                 int groups, boolean fused, boolean tensorOps) {
        Tensor b = stored(bias), z = residual == null ? null : stored(residual);
        Tensor y = convolution(in, weight, stride, pad, groups, tensorOps);
        float[] v = y.data(), bv = b.data(), zv = z == null ? null : z.data();
        int k = y.dim(1), plane = y.dim(2) * y.dim(3);
        if (fused) {
            for (int i = 0; i < v.length; i++) {
                float t = v[i] + bv[i / plane % k];
                if (zv != null) {
                    t += zv[i];
                }
                v[i] = Math.max(t, 0f);
            }
            return stored(y);
        }
        y = stored(y);
        addBias(y, b);
        if (z != null) {
            y = stored(y);
            CpuOps.add(y, y, z, false);
        }
        y = stored(y);
        CpuOps.relu(y, y);
        return y;
    }

    /** out = conv(in, weight) [+ bias] ({@code GpuOps.conv2d}: the convolution's result stored, then the bias added). */
    public Tensor conv2d(Tensor in, Tensor weight, Tensor bias, int stride, int pad, int groups, boolean tensorOps) {
        Tensor y = stored(convolution(in, weight, stride, pad, groups, tensorOps));
        if (bias != null) {
            addBias(y, stored(bias));
            y = stored(y);
        }
        return y;
    }

    /** Max pooling: exact in every precision (the max of stored values is a stored value). */
    public Tensor maxPool(Tensor in, int kernel, int stride, int pad) {
        Tensor x = stored(in);
        int p = (x.dim(2) + 2 * pad - kernel) / stride + 1, q = (x.dim(3) + 2 * pad - kernel) / stride + 1;
        Tensor y = Tensor.zeros(x.dim(0), x.dim(1), p, q);
        CpuOps.maxPool(y, x, kernel, stride, pad);
        return y;
    }

    /** Pooled features [N, C] in fp32 of the stored activations [N, C, H, W] ({@code GpuOps.globalAvgPool}). */
    public Tensor globalAvgPool(Tensor in) {
        Tensor y = Tensor.zeros(in.dim(0), in.dim(1));
        CpuOps.globalAvgPool(y, stored(in));
        return y;
    }

    /**
     * out[N,O] = in · weightᵀ + bias, all fp32 ({@code GpuOps.linear}); tf32 rounds both operands of the product
     * (cuBLAS's FAST_TF32 compute type), fp16 runs it in fp32.
     */
    public Tensor linear(Tensor in, Tensor weight, Tensor bias) {
        boolean round = precision == Precision.TF32;
        Tensor y = summation.linear(round ? tf32(in) : in, round ? tf32(weight) : weight);
        float[] v = y.data(), b = bias.data();
        for (int i = 0; i < v.length; i++) {
            v[i] = b[i % b.length] + v[i];
        }
        return y;
    }

    /** The fp32 accumulation of conv(in, weight) over the stored operands, TF32-rounded where tensor cores round. */
    private Tensor convolution(Tensor in, Tensor weight, int stride, int pad, int groups, boolean tensorOps) {
        Tensor x = stored(in), w = stored(weight);
        if (precision == Precision.TF32 && tensorOps) {
            x = tf32(x);
            w = tf32(w);
        }
        return summation.conv2d(x, w, stride, pad, groups);
    }

    private Tensor tf32(Tensor t) {
        return new Tensor(t.shape(), GpuRounding.tf32(t.data(), tf32));
    }

    /** y[n, k, ...] += bias[k], in fp32. */
    private static void addBias(Tensor y, Tensor bias) {
        float[] v = y.data(), b = bias.data();
        int k = y.dim(1), plane = y.size() / (y.dim(0) * k);
        for (int i = 0; i < v.length; i++) {
            v[i] += b[i / plane % k];
        }
    }
}
