package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

/**
 * A convolution followed by inference batch norm, optionally a residual add and ReLU, for inference on
 * immutable weights: out = relu?(bn(conv(in, weight)) + residual?). With the Vector API kernel the weights
 * are packed once, here, into the GEMM's layout, and batch norm, residual and ReLU are applied as the GEMM
 * stores each block of output (no separate passes over the activations, no zero-fill). Results are
 * bitwise those of the unfused ops ({@link CpuOps#conv2d}, {@link CpuOps#batchNorm}, {@link CpuOps#add})
 * on the same kernel, which remain the reference; with the plain kernel this class simply runs them.
 *
 * <p>The weights and batch-norm parameters are read when the object is made: later changes to those
 * tensors are not seen (make a new one). Thread-safe: {@link #forward} keeps no state.
 */
public final class FusedConv {
    private final Tensor weight, gamma, beta, mean, var;
    private final float eps;
    private final int stride, padding;
    private final int k, c, r, s;
    private final float[] scale, shift;
    private final ConvDriver driver;
    private final GemmKernel.PackedMatrix packed;

    private FusedConv(Tensor weight, int stride, int padding, Tensor gamma, Tensor beta, Tensor mean, Tensor var,
                      float eps, ConvDriver driver) {
        if (weight.rank() != 4) {
            throw new IllegalArgumentException("fused conv weight: expected rank 4 [K,C,R,S], found " + weight.shape());
        }
        this.k = weight.dim(0);
        this.c = weight.dim(1);
        this.r = weight.dim(2);
        this.s = weight.dim(3);
        gamma.require("fused conv bn gamma", k);
        beta.require("fused conv bn beta", k);
        mean.require("fused conv bn mean", k);
        var.require("fused conv bn var", k);
        if (stride < 1 || padding < 0) {
            throw new IllegalArgumentException("fused conv: stride must be >= 1 and padding >= 0, found stride "
                    + stride + ", padding " + padding);
        }
        this.weight = weight;
        this.gamma = gamma;
        this.beta = beta;
        this.mean = mean;
        this.var = var;
        this.eps = eps;
        this.stride = stride;
        this.padding = padding;
        this.scale = new float[k];
        this.shift = new float[k];
        CpuOps.batchNormScaleShift(gamma, beta, mean, var, eps, scale, shift);
        this.driver = driver;
        this.packed = driver == null ? null : driver.pack(weight.data(), k, c * r * s);
    }

    /** Conv with weight [K,C,R,S] (no bias), then batch norm with the given parameters, on the active kernel. */
    public static FusedConv of(Tensor weight, int stride, int padding, Tensor gamma, Tensor beta, Tensor mean,
                               Tensor var, float eps) {
        return new FusedConv(weight, stride, padding, gamma, beta, mean, var, eps, driverFor(Gemm.kernel()));
    }

    /** As {@link #of}, but always the unfused reference ops (for tests and timing side by side). */
    public static FusedConv reference(Tensor weight, int stride, int padding, Tensor gamma, Tensor beta,
                                      Tensor mean, Tensor var, float eps) {
        return new FusedConv(weight, stride, padding, gamma, beta, mean, var, eps, null);
    }

    private static ConvDriver driverFor(GemmKernel kernel) {
        if (!kernel.name().startsWith("vector")) {
            return null;
        }
        try {
            return (ConvDriver) Class.forName("dev.jresnet.cpu.VectorConv").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot load the Vector API convolution", e);
        }
    }

    /** Whether this runs the fused path (else the reference ops). */
    public boolean fused() {
        return driver != null;
    }

    public int outSize(int inSize) {
        return (inSize + 2 * padding - r) / stride + 1;
    }

    /** relu?(bn(conv(in)) + residual?) into a new tensor; residual may be null. */
    public Tensor forward(Tensor in, Tensor residual, boolean relu) {
        if (in.rank() != 4 || in.dim(1) != c) {
            throw new IllegalArgumentException("fused conv input: expected [N, C=" + c + ", H, W], found " + in.shape());
        }
        int n = in.dim(0), h = in.dim(2), w = in.dim(3);
        if (h + 2 * padding < r || w + 2 * padding < s) {
            throw new IllegalArgumentException("fused conv: kernel " + r + "x" + s + " is larger than the padded input "
                    + in.shape());
        }
        int p = outSize(h), q = (w + 2 * padding - s) / stride + 1;
        Tensor out = Tensor.zeros(n, k, p, q);
        if (residual != null) {
            residual.require("fused conv residual", n, k, p, q);
        }
        if (driver == null) {
            CpuOps.conv2d(out, in, weight, null, stride, padding);
            CpuOps.batchNorm(out, out, gamma, beta, mean, var, eps, relu && residual == null);
            if (residual != null) {
                CpuOps.add(out, out, residual, relu);
            }
            return out;
        }
        driver.run(packed, out.data(), in.data(), n, k, new Conv2d.Geometry(c, h, w, r, s, p, q, stride, padding),
                scale, shift, residual == null ? null : residual.data(), relu);
        return out;
    }
}
