package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

import java.util.Arrays;

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
    private final int stride, padding, groups;
    private final int k, c, r, s;
    private final float[][] scale, shift;             // per group
    private final ConvDriver driver;
    private final GemmKernel.PackedMatrix[] packed;   // per group

    private FusedConv(Tensor weight, int stride, int padding, int groups, Tensor gamma, Tensor beta, Tensor mean,
                      Tensor var, float eps, ConvDriver driver) {
        if (weight.rank() != 4) {
            throw new IllegalArgumentException("fused conv weight: expected rank 4 [K,C/groups,R,S], found " + weight.shape());
        }
        this.k = weight.dim(0);
        this.c = weight.dim(1) * groups;
        this.r = weight.dim(2);
        this.s = weight.dim(3);
        ChannelGroups.requireDivides("fused conv", groups, c, k);
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
        this.groups = groups;
        float[] sc = new float[k], sh = new float[k];
        CpuOps.batchNormScaleShift(gamma, beta, mean, var, eps, sc, sh);
        int kg = k / groups, crs = weight.dim(1) * r * s;
        this.scale = new float[groups][];
        this.shift = new float[groups][];
        this.packed = new GemmKernel.PackedMatrix[groups];
        this.driver = driver;
        for (int g = 0; g < groups; g++) {
            scale[g] = groups == 1 ? sc : ChannelGroups.slice(sc, g * kg, kg);
            shift[g] = groups == 1 ? sh : ChannelGroups.slice(sh, g * kg, kg);
            if (driver != null) {
                float[] w = groups == 1 ? weight.data() : ChannelGroups.slice(weight.data(), g * kg * crs, kg * crs);
                packed[g] = driver.pack(w, kg, crs);
            }
        }
    }

    /**
     * Conv with weight [K,C/groups,R,S] (no bias), then batch norm with the given parameters, on the active kernel.
     */
    public static FusedConv of(Tensor weight, int stride, int padding, int groups, Tensor gamma, Tensor beta,
                               Tensor mean, Tensor var, float eps) {
        return new FusedConv(weight, stride, padding, groups, gamma, beta, mean, var, eps, driverFor(Gemm.kernel()));
    }

    /** As {@link #of}, but always the unfused reference ops (for tests and timing side by side). */
    public static FusedConv reference(Tensor weight, int stride, int padding, int groups, Tensor gamma, Tensor beta,
                                      Tensor mean, Tensor var, float eps) {
        return new FusedConv(weight, stride, padding, groups, gamma, beta, mean, var, eps, null);
    }

    /** As {@link #of}, on the given driver (tests: each register tile's {@link VectorConv}). */
    static FusedConv on(ConvDriver driver, Tensor weight, int stride, int padding, int groups, Tensor gamma, Tensor beta,
                        Tensor mean, Tensor var, float eps) {
        return new FusedConv(weight, stride, padding, groups, gamma, beta, mean, var, eps, driver);
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

    private void requireInput(Tensor in) {
        if (in.rank() != 4 || in.dim(1) != c) {
            throw new IllegalArgumentException("fused conv input: expected [N, C=" + c + ", H, W], found " + in.shape());
        }
        if (in.dim(2) + 2 * padding < r || in.dim(3) + 2 * padding < s) {
            throw new IllegalArgumentException("fused conv: kernel " + r + "x" + s + " is larger than the padded input "
                    + in.shape());
        }
    }

    public int outSize(int inSize) {
        return (inSize + 2 * padding - r) / stride + 1;
    }

    /** relu?(bn(conv(in)) + residual?) into a new tensor; residual may be null. */
    public Tensor forward(Tensor in, Tensor residual, boolean relu) {
        requireInput(in);
        Tensor out = Tensor.zeros(in.dim(0), k, outSize(in.dim(2)), (in.dim(3) + 2 * padding - s) / stride + 1);
        return forward(out, in, residual, relu);
    }

    /**
     * relu?(bn(conv(in)) + residual?) into {@code out} [N, K, P, Q], whatever it held (the fused kernel overwrites
     * every element, the first block of each tile starting from zero; the reference path zeroes it first), and
     * returns it. {@code out} must not be {@code in} or {@code residual}.
     */
    public Tensor forward(Tensor out, Tensor in, Tensor residual, boolean relu) {
        requireInput(in);
        int n = in.dim(0), h = in.dim(2), w = in.dim(3);
        int p = outSize(h), q = (w + 2 * padding - s) / stride + 1;
        out.require("fused conv output", n, k, p, q);
        if (out == in || out == residual || out.data() == in.data()
                || (residual != null && out.data() == residual.data())) {
            throw new IllegalArgumentException("fused conv: the output must not share its array with an operand");
        }
        if (residual != null) {
            residual.require("fused conv residual", n, k, p, q);
        }
        if (driver == null) {
            Arrays.fill(out.data(), 0f);
            CpuOps.conv2d(out, in, weight, null, stride, padding, groups);
            CpuOps.batchNorm(out, out, gamma, beta, mean, var, eps, relu && residual == null);
            if (residual != null) {
                CpuOps.add(out, out, residual, relu);
            }
            return out;
        }
        int cg = c / groups, kg = k / groups;
        Conv2d.Geometry geometry = new Conv2d.Geometry(cg, h, w, r, s, p, q, stride, padding);
        if (groups == 1) {
            driver.run(packed[0], out.data(), in.data(), n, k, geometry, scale[0], shift[0],
                    residual == null ? null : residual.data(), relu);
            return out;
        }
        // Each group through the ungrouped kernel on its channels, so the rounding is the reference's.
        float[] inG = new float[n * cg * h * w], outG = new float[n * kg * p * q];
        float[] resG = residual == null ? null : new float[outG.length];
        for (int g = 0; g < groups; g++) {
            ChannelGroups.gather(in.data(), n, c, h * w, g * cg, cg, inG);
            if (resG != null) {
                ChannelGroups.gather(residual.data(), n, k, p * q, g * kg, kg, resG);
            }
            driver.run(packed[g], outG, inG, n, kg, geometry, scale[g], shift[g], resG, relu);
            ChannelGroups.scatter(outG, n, k, p * q, g * kg, kg, out.data());
        }
        return out;
    }
}
