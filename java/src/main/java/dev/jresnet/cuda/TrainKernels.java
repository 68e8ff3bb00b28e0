package dev.jresnet.cuda;


/**
 * Typed launchers of {@code native/train.cu} (loaded with the other kernels by {@link Kernels}): each checks
 * the buffer sizes, computes the launch shape documented in the .cu file and queues the kernel on the stream.
 * fp32 NCHW tensors; reductions in double. See the .cu file for what each computes.
 */
public final class TrainKernels {
    static final int BLOCK = 256;
    static final int MAX_STRIDE_BLOCKS = 65535;

    private final Kernels kernels;

    public TrainKernels(Kernels kernels) {
        this.kernels = kernels;
    }

    /** dx = y > 0 ? dy : 0 (dx may be dy). */
    public void reluBackward(Stream s, DeviceBuffer dy, DeviceBuffer y, DeviceBuffer dx, long count) {
        need(dy, count * 4, "dy", "relu_backward_f32");
        need(y, count * 4, "y", "relu_backward_f32");
        need(dx, count * 4, "dx", "relu_backward_f32");
        strided("relu_backward_f32", s, count, dy, y, dx, count);
    }

    /** out = max(a + b, 0). */
    public void addRelu(Stream s, DeviceBuffer a, DeviceBuffer b, DeviceBuffer out, long count) {
        need(a, count * 4, "a", "add_relu_f32");
        need(b, count * 4, "b", "add_relu_f32");
        need(out, count * 4, "out", "add_relu_f32");
        strided("add_relu_f32", s, count, a, b, out, count);
    }

    /** into += g. */
    public void addInPlace(Stream s, DeviceBuffer into, DeviceBuffer g, long count) {
        need(into, count * 4, "into", "add_inplace_f32");
        need(g, count * 4, "g", "add_inplace_f32");
        strided("add_inplace_f32", s, count, into, g, count);
    }

    /** dx [N,C,H,W] = dy [N,C] / (H*W). */
    public void globalAvgPoolBackward(Stream s, DeviceBuffer dy, DeviceBuffer dx, int n, int c, int hw) {
        long count = (long) n * c * hw;
        need(dy, 4L * n * c, "dy", "global_avg_pool_backward_nchw_f32");
        need(dx, count * 4, "dx", "global_avg_pool_backward_nchw_f32");
        strided("global_avg_pool_backward_nchw_f32", s, count, dy, dx, count, hw);
    }

    /** BatchNorm on running statistics (CpuOps.batchNorm), optionally followed by ReLU; y may be x. */
    public void bnEvalForward(Stream s, DeviceBuffer x, DeviceBuffer y, DeviceBuffer gamma, DeviceBuffer beta,
                              DeviceBuffer mean, DeviceBuffer var, float eps, int n, int c, int hw, boolean relu) {
        long count = (long) n * c * hw;
        String k = "bn_eval_forward_nchw_f32";
        need(x, count * 4, "x", k);
        need(y, count * 4, "y", k);
        for (DeviceBuffer p : new DeviceBuffer[] {gamma, beta, mean, var}) {
            need(p, 4L * c, "per-channel parameter", k);
        }
        strided(k, s, count, x, y, gamma, beta, mean, var, eps, c, hw, count, relu ? 1 : 0);
    }

    /** dgamma += Σ dy·xhat, dbeta += Σ dy per channel, for BatchNorm on running statistics. */
    public void bnEvalBackwardParams(Stream s, DeviceBuffer dy, DeviceBuffer x, DeviceBuffer mean, DeviceBuffer var,
                                     DeviceBuffer dgamma, DeviceBuffer dbeta, float eps, int n, int c, int hw) {
        long count = (long) n * c * hw;
        String k = "bn_eval_backward_params_nchw_f32";
        need(dy, count * 4, "dy", k);
        need(x, count * 4, "x", k);
        for (DeviceBuffer p : new DeviceBuffer[] {mean, var, dgamma, dbeta}) {
            need(p, 4L * c, "per-channel parameter", k);
        }
        if (c == 0) {
            return;
        }
        kernels.launchKernel(k, s, c, 1, 1, BLOCK, 1, dy, x, mean, var, dgamma, dbeta, eps, n, c, hw);
    }

    /** dx = gamma·invStd·dy for BatchNorm on running statistics (dx may be dy). */
    public void bnEvalBackwardData(Stream s, DeviceBuffer dy, DeviceBuffer gamma, DeviceBuffer var, DeviceBuffer dx,
                                   float eps, int n, int c, int hw) {
        long count = (long) n * c * hw;
        String k = "bn_eval_backward_data_nchw_f32";
        need(dy, count * 4, "dy", k);
        need(dx, count * 4, "dx", k);
        need(gamma, 4L * c, "gamma", k);
        need(var, 4L * c, "var", k);
        strided(k, s, count, dy, gamma, var, dx, eps, c, hw, count);
    }

    /** db[o] += Σ_r dy[r][o] (rows summed in order, in double). */
    public void biasGrad(Stream s, DeviceBuffer dy, DeviceBuffer db, int rows, int o) {
        need(dy, 4L * rows * o, "dy", "bias_grad_rows_f32");
        need(db, 4L * o, "db", "bias_grad_rows_f32");
        if (o == 0) {
            return;
        }
        kernels.launchKernel("bias_grad_rows_f32", s, blocks(o, BLOCK), 1, 1, BLOCK, 1, dy, db, rows, o);
    }

    /**
     * Softmax cross-entropy rows: dlogits [n,k] = (softmax - q) / n, rowLoss [n] doubles; then the mean loss
     * into {@code loss} (one float).
     */
    public void softmaxCrossEntropy(Stream s, DeviceBuffer logits, DeviceBuffer targets, DeviceBuffer dlogits,
                                    DeviceBuffer rowLoss, DeviceBuffer loss, int n, int k, float smoothing) {
        need(logits, 4L * n * k, "logits", "softmax_xent_rows_f32");
        need(dlogits, 4L * n * k, "dlogits", "softmax_xent_rows_f32");
        need(targets, 4L * n, "targets", "softmax_xent_rows_f32");
        need(rowLoss, 8L * n, "rowLoss", "softmax_xent_rows_f32");
        need(loss, 4, "loss", "mean_rows_f64");
        if (n == 0) {
            return;
        }
        kernels.launchKernel("softmax_xent_rows_f32", s, n, 1, 1, BLOCK, 1, logits, targets, dlogits, rowLoss, k, n,
                smoothing);
        kernels.launchKernel("mean_rows_f64", s, 1, 1, 1, 32, 1, rowLoss, loss, n);
    }

    /** sumsq[slot] (a double) = Σ g². */
    public void gradSumSquares(Stream s, DeviceBuffer g, DeviceBuffer sumsq, long count, int slot) {
        need(g, count * 4, "g", "grad_sumsq_f64");
        need(sumsq, 8L * (slot + 1), "sumsq", "grad_sumsq_f64");
        kernels.launchKernel("grad_sumsq_f64", s, 1, 1, 1, 1024, 1, g, sumsq, count, slot);
    }

    /** out[0] = clipping coefficient, out[1] = total norm, from {@code tensors} sums of squares. */
    public void clipCoefficient(Stream s, DeviceBuffer sumsq, DeviceBuffer out, int tensors, float maxNorm) {
        need(sumsq, 8L * tensors, "sumsq", "clip_coef_f32");
        need(out, 8, "out", "clip_coef_f32");
        kernels.launchKernel("clip_coef_f32", s, 1, 1, 1, 32, 1, sumsq, out, tensors, maxNorm);
    }

    /** g *= factor[0] (a device scalar). */
    public void scaleByDevice(Stream s, DeviceBuffer g, DeviceBuffer factor, long count) {
        need(g, count * 4, "g", "scale_by_device_f32");
        need(factor, 4, "factor", "scale_by_device_f32");
        strided("scale_by_device_f32", s, count, g, factor, count);
    }

    /** One SGD update of {@code count} values (see train.cu); buf may be a null-address buffer without momentum. */
    public void sgdStep(Stream s, DeviceBuffer w, DeviceBuffer g, DeviceBuffer buf, long count, float negLr,
                        float momentum, float wd, boolean first, boolean nesterov) {
        need(w, count * 4, "w", "sgd_step_f32");
        need(g, count * 4, "g", "sgd_step_f32");
        boolean useMomentum = momentum != 0;
        if (useMomentum) {
            need(buf, count * 4, "momentum buffer", "sgd_step_f32");
        }
        int flags = (useMomentum ? 1 : 0) | (first ? 2 : 0) | (nesterov ? 4 : 0);
        strided("sgd_step_f32", s, count, w, g, useMomentum ? buf : w, count, negLr, momentum, wd, flags);
    }

    /** One AdamW update of {@code count} values with host-computed scalars (see train.cu). */
    public void adamwStep(Stream s, DeviceBuffer w, DeviceBuffer g, DeviceBuffer m, DeviceBuffer v, long count,
                          float decay, float oneMinusBeta1, float oneMinusBeta2, float beta1, float beta2,
                          float negStepSize, float bc2Sqrt, float eps) {
        for (DeviceBuffer b : new DeviceBuffer[] {w, g, m, v}) {
            need(b, count * 4, "parameter-sized buffer", "adamw_step_f32");
        }
        strided("adamw_step_f32", s, count, w, g, m, v, count, decay, oneMinusBeta1, oneMinusBeta2, beta1, beta2,
                negStepSize, bc2Sqrt, eps);
    }

    // ---------------------------------------------------------------- helpers

    private void strided(String kernel, Stream s, long count, Object... args) {
        if (count < 0) {
            throw new IllegalArgumentException(kernel + ": negative count " + count);
        }
        if (count == 0) {
            return;
        }
        int grid = Math.min(blocks(count, BLOCK), MAX_STRIDE_BLOCKS);
        kernels.launchKernel(kernel, s, grid, 1, 1, BLOCK, 1, args);
    }

    static int blocks(long work, int per) {
        long b = (work + per - 1) / per;
        if (b > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("grid of " + b + " blocks is too large");
        }
        return (int) b;
    }

    private static void need(DeviceBuffer b, long bytes, String what, String kernel) {
        if (b == null || b.bytes() < bytes) {
            throw new IllegalArgumentException(kernel + ": " + what + " needs " + bytes + " bytes, got " + b);
        }
    }
}
