package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

/**
 * The CPU reference ops, NCHW float32, outputs first. Every op validates shapes and throws an
 * {@link IllegalArgumentException} naming the operand and both shapes. Ops are stateless and thread-safe.
 */
public final class CpuOps {
    private CpuOps() {}

    /** out[N,K,P,Q] = conv(in[N,C,H,W], weight[K,C,R,S]) + bias[K] (bias may be null); square stride and padding. */
    public static void conv2d(Tensor out, Tensor in, Tensor weight, Tensor bias, int stride, int padding) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Inference batch norm per channel; out may be in; optionally fused ReLU. */
    public static void batchNorm(Tensor out, Tensor in, Tensor gamma, Tensor beta, Tensor mean, Tensor var,
                                 float eps, boolean relu) {
        throw new UnsupportedOperationException("TODO");
    }

    /** out = max(in, 0); out may be in. */
    public static void relu(Tensor out, Tensor in) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Max pooling with a square window; padded positions never win. */
    public static void maxPool(Tensor out, Tensor in, int kernel, int stride, int padding) {
        throw new UnsupportedOperationException("TODO");
    }

    /** out[N,C] = mean over H,W of in[N,C,H,W]. */
    public static void globalAvgPool(Tensor out, Tensor in) {
        throw new UnsupportedOperationException("TODO");
    }

    /** out[N,O] = in[N,I] * weight[O,I]^T + bias[O] (bias may be null). */
    public static void linear(Tensor out, Tensor in, Tensor weight, Tensor bias) {
        throw new UnsupportedOperationException("TODO");
    }

    /** out = a + b, optionally followed by ReLU; out may be a or b. */
    public static void add(Tensor out, Tensor a, Tensor b, boolean relu) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Row-wise softmax of in[N,K] into out[N,K], numerically stable (max subtracted); out may be in. */
    public static void softmax(Tensor out, Tensor in) {
        throw new UnsupportedOperationException("TODO");
    }
}
