package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

import java.util.Arrays;

/**
 * The backward passes of the CPU reference ops, and batch norm's training-mode forward. NCHW float32, outputs
 * first, shapes validated with an {@link IllegalArgumentException} naming the operand.
 *
 * <p>Two kinds of output, as in PyTorch: <b>input gradients</b> ({@code dIn}, {@code dLogits}) are written
 * (overwritten), while <b>parameter gradients</b> ({@code dWeight}, {@code dBias}, {@code dGamma},
 * {@code dBeta}) are accumulated into, like {@code .grad}, so a caller zeroes them once per step. Sums over a
 * batch or a plane are taken in double where they are not a GEMM.
 *
 * <p>Stateless and thread-safe, like {@link CpuOps}: scratch is per thread, work runs on {@link Parallel}'s
 * pool, and results do not depend on the thread count (reductions are split and summed in a fixed order).
 */
public final class CpuGrads {
    private static final int ELEMENTWISE_GRAIN = 1 << 15;

    /** torch.nn.BatchNorm2d's default momentum for the running statistics. */
    public static final float BN_MOMENTUM = 0.1f;

    private static final Scratch COLS = new Scratch();
    private static final Scratch DOUT_T = new Scratch();

    private CpuGrads() {}

    // ---------------------------------------------------------------- linear

    /**
     * Backward of {@code out[N,O] = in[N,I] · weight[O,I]ᵀ + bias[O]}:
     * dIn = dOut · weight (written; may be null when not needed), dWeight += dOutᵀ · in, dBias += Σ_n dOut
     * (either may be null).
     */
    public static void linearBackward(Tensor dIn, Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in, Tensor weight) {
        requireRank("linearBackward input", in, 2, "[N,I]");
        requireRank("linearBackward weight", weight, 2, "[O,I]");
        int n = in.dim(0), i = in.dim(1), o = weight.dim(0);
        if (weight.dim(1) != i) {
            throw new IllegalArgumentException("linearBackward weight: expected shape [O, I=" + i + "] to match input "
                    + in.shape() + ", found " + weight.shape());
        }
        dOut.require("linearBackward dOut", n, o);
        float[] dy = dOut.data();
        if (dIn != null) {
            dIn.require("linearBackward dIn", n, i);
            Gemm.gemm(n, i, o, dy, 0, o, weight.data(), 0, i, dIn.data(), 0, i, false);
        }
        if (dWeight != null) {
            dWeight.require("linearBackward dWeight", o, i);
            float[] dyT = transpose(dy, n, o);                    // [O, N]
            Gemm.gemm(o, i, n, dyT, 0, n, in.data(), 0, i, dWeight.data(), 0, i, true);
        }
        if (dBias != null) {
            dBias.require("linearBackward dBias", o);
            for (int j = 0; j < o; j++) {
                double sum = 0;
                for (int b = 0; b < n; b++) {
                    sum += dy[b * o + j];
                }
                dBias.data()[j] += (float) sum;
            }
        }
    }

    // ---------------------------------------------------------------- loss

    /**
     * Mean softmax cross-entropy of logits[N,K] against class indices targets[N], as
     * {@code torch.nn.CrossEntropyLoss(label_smoothing=ε)}: the target distribution is
     * q = (1-ε)·onehot(y) + ε/K, the loss is mean_n(-Σ_k q_k log softmax(logits_n)_k). Writes
     * dLogits = (softmax(logits) - q) / N and returns the loss.
     */
    public static float softmaxCrossEntropy(Tensor dLogits, Tensor logits, int[] targets, float labelSmoothing) {
        requireRank("softmaxCrossEntropy logits", logits, 2, "[N,K]");
        int n = logits.dim(0), k = logits.dim(1);
        if (targets.length != n) {
            throw new IllegalArgumentException("softmaxCrossEntropy targets: expected " + n + " class indices to match logits "
                    + logits.shape() + ", found " + targets.length);
        }
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) {
            throw new IllegalArgumentException("softmaxCrossEntropy: label smoothing must be in [0, 1], found " + labelSmoothing);
        }
        if (dLogits != null) {
            dLogits.shape().require(logits.shape(), "softmaxCrossEntropy dLogits");
        }
        float[] x = logits.data();
        double off = labelSmoothing / (double) k;           // q_k for k != y
        double on = 1.0 - labelSmoothing + off;             // q_y
        double total = 0;
        double[] p = new double[k];
        for (int row = 0; row < n; row++) {
            int y = targets[row];
            if (y < 0 || y >= k) {
                throw new IllegalArgumentException("softmaxCrossEntropy targets[" + row + "] = " + y
                        + " is not a class index in [0, " + k + ")");
            }
            int base = row * k;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                max = Math.max(max, x[base + j]);
            }
            double sum = 0;
            for (int j = 0; j < k; j++) {
                p[j] = Math.exp(x[base + j] - max);
                sum += p[j];
            }
            double logSum = Math.log(sum) + max;            // log Σ exp(x)
            double rowLoss = 0;
            for (int j = 0; j < k; j++) {
                double q = j == y ? on : off;
                rowLoss -= q * (x[base + j] - logSum);
                if (dLogits != null) {
                    dLogits.data()[base + j] = (float) ((p[j] / sum - q) / n);
                }
            }
            total += rowLoss;
        }
        return (float) (total / n);
    }

    // ---------------------------------------------------------------- pooling, ReLU, add

    /** Backward of global average pooling: dIn[N,C,H,W] = dOut[N,C] / (H·W) (written). */
    public static void globalAvgPoolBackward(Tensor dIn, Tensor dOut) {
        requireRank("globalAvgPoolBackward dIn", dIn, 4, "[N,C,H,W]");
        int n = dIn.dim(0), c = dIn.dim(1), plane = dIn.dim(2) * dIn.dim(3);
        dOut.require("globalAvgPoolBackward dOut", n, c);
        float[] dx = dIn.data(), dy = dOut.data();
        Parallel.forRanges(n * c, Math.max(1, ELEMENTWISE_GRAIN / plane), (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                Arrays.fill(dx, i * plane, (i + 1) * plane, dy[i] / plane);
            }
        });
    }

    /**
     * Backward of ReLU from its output: dIn = out > 0 ? dOut : 0 (written; dIn may be dOut). The output
     * suffices because out > 0 exactly where the input was; at 0 the gradient is 0, as in PyTorch.
     */
    public static void reluBackward(Tensor dIn, Tensor dOut, Tensor out) {
        dOut.shape().require(out.shape(), "reluBackward dOut");
        dIn.shape().require(out.shape(), "reluBackward dIn");
        float[] dx = dIn.data(), dy = dOut.data(), y = out.data();
        Parallel.forRanges(y.length, ELEMENTWISE_GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                dx[i] = y[i] > 0f ? dy[i] : 0f;
            }
        });
    }

    /**
     * Where a tensor fans out (the residual connection feeds both the block and its shortcut) its gradient
     * is the sum of the branches' gradients: into += grad. The backward of {@code out = a + b} itself is the
     * identity for both operands, so callers pass dOut on unchanged.
     */
    public static void accumulate(Tensor into, Tensor grad) {
        grad.shape().require(into.shape(), "accumulate grad");
        float[] a = into.data(), g = grad.data();
        Parallel.forRanges(a.length, ELEMENTWISE_GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                a[i] += g[i];
            }
        });
    }

    /**
     * Backward of {@link CpuOps#maxPool}: each output gradient goes to the input that won its window
     * (dIn written; positions that won no window get 0, those that won several get the sum). The winner is
     * recomputed from the input with the forward's rule: the first maximum in scan order (row by row),
     * as PyTorch's CPU kernel records it, a NaN winning over numbers. {@code out} is the forward's output: the GPU
     * twin needs it (cuDNN finds the winners by comparing with it); here it is only checked for its shape.
     */
    public static void maxPoolBackward(Tensor dIn, Tensor dOut, Tensor in, Tensor out, int kernel, int stride,
                                       int padding) {
        requireRank("maxPoolBackward input", in, 4, "[N,C,H,W]");
        if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel) {
            throw new IllegalArgumentException("maxPoolBackward: need kernel >= 1, stride >= 1 and 0 <= padding <= kernel/2, "
                    + "found kernel " + kernel + ", stride " + stride + ", padding " + padding);
        }
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
        if (h + 2 * padding < kernel || w + 2 * padding < kernel) {
            throw new IllegalArgumentException("maxPoolBackward: window " + kernel + " is larger than the padded input "
                    + in.shape() + " with padding " + padding);
        }
        int p = (h + 2 * padding - kernel) / stride + 1;
        int q = (w + 2 * padding - kernel) / stride + 1;
        dOut.require("maxPoolBackward dOut", n, c, p, q);
        out.require("maxPoolBackward out", n, c, p, q);
        dIn.shape().require(in.shape(), "maxPoolBackward dIn");
        float[] x = in.data(), dy = dOut.data(), dx = dIn.data();
        // Planes are independent and overlapping windows stay within a plane, so a plane per task is race-free.
        Parallel.forRanges(n * c, Math.max(1, ELEMENTWISE_GRAIN / (h * w)), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int src = plane * h * w, dst = plane * p * q;
                Arrays.fill(dx, src, src + h * w, 0f);
                for (int op = 0; op < p; op++) {
                    int h0 = Math.max(0, op * stride - padding), h1 = Math.min(h, op * stride - padding + kernel);
                    for (int oq = 0; oq < q; oq++) {
                        int w0 = Math.max(0, oq * stride - padding), w1 = Math.min(w, oq * stride - padding + kernel);
                        int arg = src + h0 * w + w0;
                        float m = Float.NEGATIVE_INFINITY;
                        for (int ih = h0; ih < h1; ih++) {
                            for (int iw = w0; iw < w1; iw++) {
                                float v = x[src + ih * w + iw];
                                if (v > m || Float.isNaN(v)) {
                                    m = v;
                                    arg = src + ih * w + iw;
                                }
                            }
                        }
                        dx[arg] += dy[dst + op * q + oq];
                    }
                }
            }
        });
    }

    // ---------------------------------------------------------------- batch norm

    /**
     * Backward of inference-mode batch norm (frozen statistics, {@link CpuOps#batchNorm} without ReLU):
     * with invStd = 1/sqrt(var + eps) in float32 as the forward uses it, dIn = dOut · gamma·invStd (written;
     * may be null), dGamma += Σ dOut · (in - mean)·invStd, dBeta += Σ dOut (either may be null).
     */
    public static void batchNormBackward(Tensor dIn, Tensor dGamma, Tensor dBeta, Tensor dOut, Tensor in,
                                         Tensor gamma, Tensor mean, Tensor var, float eps) {
        int c = channels("batchNormBackward", in);
        gamma.require("batchNormBackward gamma", c);
        mean.require("batchNormBackward mean", c);
        var.require("batchNormBackward var", c);
        float[] invStd = new float[c];
        for (int ch = 0; ch < c; ch++) {
            invStd[ch] = 1f / (float) Math.sqrt(var.data()[ch] + eps);
        }
        bnBackward(dIn, dGamma, dBeta, dOut, in, gamma, mean.data(), invStd, false);
    }

    /**
     * Training-mode batch norm forward, as {@code torch.nn.BatchNorm2d} in train(): per channel, over the
     * M = N·H·W values, mean and the biased variance normalise (y = (x - mean)·invStd·gamma + beta with
     * invStd = 1/sqrt(var + eps)); the running statistics move by {@code momentum} towards the batch mean and
     * the <em>unbiased</em> variance (·M/(M-1)). Saves mean [C] and invStd [C] for
     * {@link #batchNormTrainBackward}. out may be in. Statistics are summed in double.
     */
    public static void batchNormTrain(Tensor out, Tensor saveMean, Tensor saveInvStd, Tensor in, Tensor gamma,
                                      Tensor beta, Tensor runningMean, Tensor runningVar, float momentum, float eps) {
        int c = channels("batchNormTrain", in);
        int n = in.dim(0), plane = in.size() / (n * c);
        long m = (long) n * plane;
        if (m < 2) {
            // torch refuses too: the unbiased variance of one value is undefined
            throw new IllegalArgumentException("batchNormTrain: expected more than 1 value per channel when training, "
                    + "found input " + in.shape());
        }
        gamma.require("batchNormTrain gamma", c);
        beta.require("batchNormTrain beta", c);
        saveMean.require("batchNormTrain saveMean", c);
        saveInvStd.require("batchNormTrain saveInvStd", c);
        if (runningMean != null) {
            runningMean.require("batchNormTrain runningMean", c);
        }
        if (runningVar != null) {
            runningVar.require("batchNormTrain runningVar", c);
        }
        out.shape().require(in.shape(), "batchNormTrain output");
        float[] x = in.data(), y = out.data();
        Parallel.forEach(c, ch -> {
            double sum = 0;
            for (int b = 0; b < n; b++) {
                int base = (b * c + ch) * plane;
                for (int i = base; i < base + plane; i++) {
                    sum += x[i];
                }
            }
            double mu = sum / m;
            double sq = 0;  // two passes: Σ(x-mean)² avoids the cancellation of Σx² - M·mean²
            for (int b = 0; b < n; b++) {
                int base = (b * c + ch) * plane;
                for (int i = base; i < base + plane; i++) {
                    double d = x[i] - mu;
                    sq += d * d;
                }
            }
            double biased = sq / m;
            double inv = 1.0 / Math.sqrt(biased + eps);
            saveMean.data()[ch] = (float) mu;
            saveInvStd.data()[ch] = (float) inv;
            if (runningMean != null) {
                runningMean.data()[ch] = (float) ((1 - momentum) * runningMean.data()[ch] + momentum * mu);
            }
            if (runningVar != null) {
                runningVar.data()[ch] = (float) ((1 - momentum) * runningVar.data()[ch] + momentum * sq / (m - 1));
            }
            double a = inv * gamma.data()[ch];
            double shift = beta.data()[ch] - mu * a;
            for (int b = 0; b < n; b++) {
                int base = (b * c + ch) * plane;
                for (int i = base; i < base + plane; i++) {
                    y[i] = (float) (x[i] * a + shift);
                }
            }
        });
    }

    /**
     * Backward of {@link #batchNormTrain}, where mean and variance depend on the input: with
     * x̂ = (in - mean)·invStd, dBeta' = Σ dOut and dGamma' = Σ dOut·x̂ per channel,
     * dIn = gamma·invStd/M · (M·dOut - dBeta' - x̂·dGamma') (written; may be null),
     * dGamma += dGamma', dBeta += dBeta'.
     */
    public static void batchNormTrainBackward(Tensor dIn, Tensor dGamma, Tensor dBeta, Tensor dOut, Tensor in,
                                              Tensor gamma, Tensor saveMean, Tensor saveInvStd) {
        int c = channels("batchNormTrainBackward", in);
        gamma.require("batchNormTrainBackward gamma", c);
        saveMean.require("batchNormTrainBackward saveMean", c);
        saveInvStd.require("batchNormTrainBackward saveInvStd", c);
        bnBackward(dIn, dGamma, dBeta, dOut, in, gamma, saveMean.data(), saveInvStd.data(), true);
    }

    /** Shared by both modes: they differ only in whether dIn carries the terms through the batch statistics. */
    private static void bnBackward(Tensor dIn, Tensor dGamma, Tensor dBeta, Tensor dOut, Tensor in, Tensor gamma,
                                   float[] mean, float[] invStd, boolean batchStats) {
        int c = in.dim(1), n = in.dim(0), plane = in.size() / (n * c);
        dOut.shape().require(in.shape(), "batchNorm backward dOut");
        if (dIn != null) {
            dIn.shape().require(in.shape(), "batchNorm backward dIn");
        }
        if (dGamma != null) {
            dGamma.require("batchNorm backward dGamma", c);
        }
        if (dBeta != null) {
            dBeta.require("batchNorm backward dBeta", c);
        }
        float[] x = in.data(), dy = dOut.data(), g = gamma.data();
        float[] dx = dIn == null ? null : dIn.data();
        double m = (double) n * plane;
        // One channel per task: its sums and its dIn entries belong to no other task (dIn may alias dOut).
        Parallel.forEach(c, ch -> {
            double mu = mean[ch], inv = invStd[ch];
            double sumDy = 0, sumDyXhat = 0;
            for (int b = 0; b < n; b++) {
                int base = (b * c + ch) * plane;
                for (int i = base; i < base + plane; i++) {
                    sumDy += dy[i];
                    sumDyXhat += dy[i] * ((x[i] - mu) * inv);
                }
            }
            if (dGamma != null) {
                dGamma.data()[ch] += (float) sumDyXhat;
            }
            if (dBeta != null) {
                dBeta.data()[ch] += (float) sumDy;
            }
            if (dx == null) {
                return;
            }
            double a = g[ch] * inv;
            double meanDy = batchStats ? sumDy / m : 0, meanDyXhat = batchStats ? sumDyXhat / m : 0;
            for (int b = 0; b < n; b++) {
                int base = (b * c + ch) * plane;
                for (int i = base; i < base + plane; i++) {
                    double xhat = (x[i] - mu) * inv;
                    dx[i] = (float) (a * (dy[i] - meanDy - xhat * meanDyXhat));
                }
            }
        });
    }

    // ---------------------------------------------------------------- convolution

    /**
     * Backward of {@link CpuOps#conv2d} with respect to its input, per image:
     * dCols[CRS, PQ] = weightᵀ[CRS, K] · dOut[K, PQ], then col2im adds every column entry back onto the input
     * pixel im2col copied it from (dIn written; a 1x1, stride-1, unpadded conv multiplies straight into dIn).
     * With groups, each group's channels go through the same code on their own (see {@link CpuOps#conv2d}).
     */
    public static void conv2dBackwardData(Tensor dIn, Tensor dOut, Tensor weight, int stride, int padding, int groups) {
        requireRank("conv2dBackwardData dIn", dIn, 4, "[N,C,H,W]");
        requireRank("conv2dBackwardData weight", weight, 4, "[K,C/groups,R,S]");
        int n = dIn.dim(0), c = dIn.dim(1), h = dIn.dim(2), w = dIn.dim(3), k = weight.dim(0);
        ChannelGroups.requireDivides("conv2dBackwardData", groups, c, k);
        Conv2d.Geometry g = geometry("conv2dBackwardData", dIn, weight, stride, padding, groups);
        dOut.require("conv2dBackwardData dOut", n, k, g.p(), g.q());
        if (dIn.data() == dOut.data()) {
            throw new IllegalArgumentException("conv2dBackwardData: dIn must not share storage with dOut");
        }
        if (groups == 1) {
            backwardData(dIn.data(), dOut.data(), weight.data(), n, k, g);
            return;
        }
        int cg = c / groups, kg = k / groups, pq = g.p() * g.q(), wPer = weight.size() / groups;
        float[] dyG = new float[n * kg * pq], dxG = new float[n * cg * h * w];
        for (int grp = 0; grp < groups; grp++) {
            ChannelGroups.gather(dOut.data(), n, k, pq, grp * kg, kg, dyG);
            backwardData(dxG, dyG, ChannelGroups.slice(weight.data(), grp * wPer, wPer), n, kg, g);
            ChannelGroups.scatter(dxG, n, c, h * w, grp * cg, cg, dIn.data());
        }
    }

    /** {@link #conv2dBackwardData} of one group: dx [N, C, H, W] from dy [N, K, P, Q] and weight [K, C, R, S]. */
    private static void backwardData(float[] dx, float[] dy, float[] weight, int n, int k, Conv2d.Geometry g) {
        int stride = g.stride(), padding = g.pad();
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q(), chw = g.c() * g.h() * g.w();
        float[] wT = transpose(weight, k, crs);                 // [CRS, K]
        boolean direct = g.r() == 1 && g.s() == 1 && stride == 1 && padding == 0;
        GemmKernel kernel = Gemm.kernel();
        if (n >= Parallel.threads()) {
            // Enough images to keep every thread busy with one image at a time: images write disjoint dIn.
            GemmKernel.PackedMatrix packed = kernel.pack(crs, k, wT, 0, k);
            Parallel.forEach(n, img -> {
                if (direct) {
                    kernel.gemm(packed, pq, dy, img * k * pq, pq, dx, img * chw, pq, false);
                } else {
                    float[] cols = COLS.get(crs * pq);
                    kernel.gemm(packed, pq, dy, img * k * pq, pq, cols, 0, pq, false);
                    col2im(g, cols, dx, img * chw);
                }
            });
        } else {
            // Fewer images than threads: parallelise inside the GEMM instead (col2im is cheap next to it).
            for (int img = 0; img < n; img++) {
                if (direct) {
                    Gemm.gemm(crs, pq, k, wT, 0, k, dy, img * k * pq, pq, dx, img * chw, pq, false);
                } else {
                    float[] cols = new float[crs * pq];
                    Gemm.gemm(crs, pq, k, wT, 0, k, dy, img * k * pq, pq, cols, 0, pq, false);
                    col2im(g, cols, dx, img * chw);
                }
            }
        }
    }

    /**
     * Backward of {@link CpuOps#conv2d} with respect to its weight: dWeight[K, CRS] += Σ_images dOut[K, PQ] ·
     * colsᵀ[PQ, CRS]. Computed transposed, dWᵀ[CRS, K] = cols[CRS, PQ] · dOutᵀ[PQ, K], so im2col's output is
     * the GEMM's left operand as it stands. Images are dealt to a fixed number of groups, one partial sum each,
     * added in group order, so the result does not depend on scheduling. With groups, each group's channels go
     * through the same code on their own (see {@link CpuOps#conv2d}).
     */
    public static void conv2dBackwardFilter(Tensor dWeight, Tensor dOut, Tensor in, int stride, int padding,
                                            int groups) {
        requireRank("conv2dBackwardFilter input", in, 4, "[N,C,H,W]");
        requireRank("conv2dBackwardFilter dWeight", dWeight, 4, "[K,C/groups,R,S]");
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3), k = dWeight.dim(0);
        ChannelGroups.requireDivides("conv2dBackwardFilter", groups, c, k);
        Conv2d.Geometry g = geometry("conv2dBackwardFilter", in, dWeight, stride, padding, groups);
        dOut.require("conv2dBackwardFilter dOut", n, k, g.p(), g.q());
        if (groups == 1) {
            backwardFilter(dWeight.data(), 0, dOut.data(), in.data(), n, k, g);
            return;
        }
        int cg = c / groups, kg = k / groups, pq = g.p() * g.q(), wPer = dWeight.size() / groups;
        float[] dyG = new float[n * kg * pq], xG = new float[n * cg * h * w];
        for (int grp = 0; grp < groups; grp++) {
            ChannelGroups.gather(dOut.data(), n, k, pq, grp * kg, kg, dyG);
            ChannelGroups.gather(in.data(), n, c, h * w, grp * cg, cg, xG);
            backwardFilter(dWeight.data(), grp * wPer, dyG, xG, n, kg, g);
        }
    }

    /** {@link #conv2dBackwardFilter} of one group: dw[dwOff..] [K, C, R, S] += from dy [N, K, P, Q], x [N, C, H, W]. */
    private static void backwardFilter(float[] dw, int dwOff, float[] dy, float[] x, int n, int k, Conv2d.Geometry g) {
        int crs = g.c() * g.r() * g.s(), pq = g.p() * g.q();
        int parts = Math.min(n, Parallel.threads());  // image partitions, summed in a fixed order
        float[][] partial = new float[parts][];               // each [CRS, K]
        if (parts == 1) {
            float[] acc = new float[crs * k];
            for (int img = 0; img < n; img++) {
                float[] cols = new float[crs * pq];
                Conv2d.im2col(g, x, (long) img * pq, pq, cols);
                float[] dyT = transpose(dy, img * k * pq, k, pq, new float[pq * k]);
                Gemm.gemm(crs, k, pq, cols, 0, pq, dyT, 0, k, acc, 0, k, img > 0);
            }
            partial[0] = acc;
        } else {
            GemmKernel kernel = Gemm.kernel();
            Parallel.forEach(parts, part -> {
                float[] acc = new float[crs * k];
                for (int img = part; img < n; img += parts) {
                    float[] cols = COLS.get(crs * pq);
                    Conv2d.im2col(g, x, (long) img * pq, pq, cols);
                    float[] dyT = transpose(dy, img * k * pq, k, pq, DOUT_T.get(pq * k));
                    kernel.gemm(crs, k, pq, cols, 0, pq, dyT, 0, k, acc, 0, k, img != part);
                }
                partial[part] = acc;
            });
        }
        for (int row = 0; row < k; row++) {
            for (int j = 0; j < crs; j++) {
                float sum = 0f;
                for (float[] acc : partial) {
                    sum += acc[j * k + row];
                }
                dw[dwOff + row * crs + j] += sum;
            }
        }
    }

    /**
     * The adjoint of im2col for one image: every entry of cols[CRS, PQ] is added to the input pixel it was
     * copied from; padding entries are dropped. dx (at dxOff, [C,H,W]) is overwritten.
     */
    private static void col2im(Conv2d.Geometry g, float[] cols, float[] dx, int dxOff) {
        Arrays.fill(dx, dxOff, dxOff + g.c() * g.h() * g.w(), 0f);
        int pq = g.p() * g.q();
        int row = 0;
        for (int ch = 0; ch < g.c(); ch++) {
            int plane = dxOff + ch * g.h() * g.w();
            for (int kr = 0; kr < g.r(); kr++) {
                for (int ks = 0; ks < g.s(); ks++, row++) {
                    int src = row * pq;
                    for (int op = 0; op < g.p(); op++) {
                        int ih = op * g.stride() - g.pad() + kr;
                        if (ih < 0 || ih >= g.h()) {
                            continue;
                        }
                        int line = plane + ih * g.w();
                        int base = src + op * g.q();
                        for (int oq = 0; oq < g.q(); oq++) {
                            int iw = oq * g.stride() - g.pad() + ks;
                            if (iw >= 0 && iw < g.w()) {
                                dx[line + iw] += cols[base + oq];
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Validates a conv's input-side tensor [N,C,H,W] against weight [K,C/groups,R,S] and returns the geometry of one
     * group (C/groups channels).
     */
    private static Conv2d.Geometry geometry(String op, Tensor input, Tensor weight, int stride, int padding,
                                            int groups) {
        int c = input.dim(1) / groups, h = input.dim(2), w = input.dim(3), r = weight.dim(2), s = weight.dim(3);
        if (weight.dim(1) != c) {
            throw new IllegalArgumentException(op + " weight: expected shape [K, C/groups=" + c + ", R, S] to match input "
                    + input.shape() + " and " + groups + " groups, found " + weight.shape());
        }
        if (stride < 1 || padding < 0) {
            throw new IllegalArgumentException(op + ": stride must be >= 1 and padding >= 0, found stride " + stride
                    + ", padding " + padding);
        }
        if (h + 2 * padding < r || w + 2 * padding < s) {
            throw new IllegalArgumentException(op + ": kernel " + r + "x" + s + " is larger than the padded input "
                    + (h + 2 * padding) + "x" + (w + 2 * padding) + " (input " + input.shape() + ", padding " + padding + ")");
        }
        int p = (h + 2 * padding - r) / stride + 1, q = (w + 2 * padding - s) / stride + 1;
        return new Conv2d.Geometry(c, h, w, r, s, p, q, stride, padding);
    }

    // ---------------------------------------------------------------- helpers

    private static int channels(String op, Tensor in) {
        if (in.rank() < 2) {
            throw new IllegalArgumentException(op + " input: expected rank >= 2 [N,C,...], found " + in.shape());
        }
        return in.dim(1);
    }

    /** a[rows, cols] → aᵀ[cols, rows], a new array. */
    private static float[] transpose(float[] a, int rows, int cols) {
        return transpose(a, 0, rows, cols, new float[rows * cols]);
    }

    private static float[] transpose(float[] a, int off, int rows, int cols, float[] out) {
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[j * rows + i] = a[off + i * cols + j];
            }
        }
        return out;
    }

    private static void requireRank(String what, Tensor t, int rank, String layout) {
        if (t.rank() != rank) {
            throw new IllegalArgumentException(what + ": expected rank " + rank + " " + layout + ", found " + t.shape());
        }
    }
}
