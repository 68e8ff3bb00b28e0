package dev.jresnet.cuda.train;

import dev.jresnet.cuda.ConvAlgorithms;
import dev.jresnet.cuda.CudaContext;
import dev.jresnet.cuda.DeviceBuffer;
import dev.jresnet.cuda.DeviceMemory;
import dev.jresnet.cuda.GpuOps;
import dev.jresnet.cuda.GpuTensor;
import dev.jresnet.cuda.Kernels;
import dev.jresnet.graph.Network;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.Optimizer;
import dev.jresnet.train.Param;
import dev.jresnet.train.Parameter;
import dev.jresnet.train.TrainDevice;
import dev.jresnet.train.Trainer;
import dev.jresnet.train.Unfreeze;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link TrainDevice} on one CUDA device: {@link GpuOps} and {@link GpuGrads} (the twins of the CPU reference ops)
 * and a {@link GpuOptimizer}, fp32 NCHW (TF32 convolutions and GEMMs with {@link Precision#TF32}). Tensors are
 * {@link GpuTensor}s in device memory; host tensors cross only as a batch's input, its logits, the loss, and when the
 * caller asks for weights, gradients or optimizer state. Owns the ops, the optimizer and (when made by
 * {@link #trainer}) the device context and kernels, closed in reverse order.
 */
public final class GpuTrainDevice implements TrainDevice<GpuTensor> {
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final GpuOps ops;
    private final GpuGrads grads;
    private final GpuOptimizer optimizer;
    private final String description;
    private DeviceMemory clipScratch;    // per-parameter sums of squares, then the coefficient and the norm

    /** On an open context with loaded kernels (the caller's, not closed here). */
    public GpuTrainDevice(CudaContext context, Kernels kernels, Precision precision, Optimizer optimizer) {
        if (precision == Precision.FP16) {
            throw new IllegalArgumentException("GPU training runs in fp32 or tf32, not fp16");
        }
        GpuOptimizer o = GpuOptimizer.from(optimizer);
        owned.push(o);
        try {
            ops = own(new GpuOps(context, kernels, precision,
                    new ConvAlgorithms(ConvAlgorithms.Search.HEURISTIC, 1L << 30)));
            grads = own(new GpuGrads(ops));
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        this.optimizer = o;
        this.description = "cuda (" + context.device() + ", " + precision.id() + ")";
    }

    /**
     * A trainer of {@code net} on CUDA device {@code device}, opening its context and compiling or loading the
     * kernels, with {@code optimizer}'s kind, hyperparameters and state on the device.
     */
    public static Trainer<GpuTensor> trainer(Network net, Unfreeze unfreeze, boolean trainBn, Optimizer optimizer,
                                             float labelSmoothing, float clipGradNorm, int device, Precision precision) {
        CudaContext context = CudaContext.open(device);
        Kernels kernels = null;
        GpuTrainDevice d = null;
        try {
            kernels = Kernels.load(context);
            d = new GpuTrainDevice(context, kernels, precision, optimizer);
            d.owned.addLast(kernels);   // closed after everything else
            d.owned.addLast(context);
            return new Trainer<>(net, d, unfreeze, trainBn, labelSmoothing, clipGradNorm);
        } catch (RuntimeException | Error e) {
            if (d == null) {
                if (kernels != null) {
                    kernels.close();
                }
                context.close();
            }
            throw e;
        }
    }

    private <T extends AutoCloseable> T own(T r) {
        owned.push(r);
        return r;
    }

    public GpuOps ops() {
        return ops;
    }

    public GpuGrads grads() {
        return grads;
    }

    @Override
    public String description() {
        return description;
    }

    // ---------------------------------------------------------------- memory

    @Override
    public GpuTensor allocate(String purpose, int... dims) {
        GpuTensor t = GpuTensor.allocate(purpose, dims);
        t.buffer().fill(ops.stream(), 0);
        return t;
    }

    @Override
    public GpuTensor adopt(Tensor host, String name) {
        return ops.upload(host, name);
    }

    @Override
    public void upload(GpuTensor dst, Tensor src) {
        ops.upload(dst, src);
    }

    @Override
    public void download(GpuTensor src, Tensor dst) {
        ops.download(src, dst);
    }

    @Override
    public void copy(GpuTensor dst, GpuTensor src) {
        dst.requireSameShape("copy", src);
        dst.buffer().copyFrom(ops.stream(), src.buffer());
    }

    @Override
    public void zero(GpuTensor t) {
        t.buffer().fill(ops.stream(), 0);
    }

    @Override
    public void free(GpuTensor t) {
        t.close();
    }

    // ---------------------------------------------------------------- forward

    @Override
    public void conv2d(GpuTensor out, GpuTensor in, GpuTensor weight, int stride, int pad, int groups) {
        ops.conv2d(out, in, weight, null, stride, pad, groups);
    }

    @Override
    public void batchNorm(GpuTensor out, GpuTensor in, GpuTensor gamma, GpuTensor beta, GpuTensor mean, GpuTensor var,
                          float eps, boolean relu) {
        ops.batchNorm(out, in, gamma, beta, mean, var, eps, relu);
    }

    @Override
    public void relu(GpuTensor out, GpuTensor in) {
        ops.relu(out, in);
    }

    @Override
    public void maxPool(GpuTensor out, GpuTensor in, int kernel, int stride, int pad) {
        ops.maxPool(out, in, kernel, stride, pad);
    }

    @Override
    public void globalAvgPool(GpuTensor out, GpuTensor in) {
        ops.globalAvgPool(out, in);
    }

    @Override
    public void linear(GpuTensor out, GpuTensor in, GpuTensor weight, GpuTensor bias) {
        ops.linear(out, in, weight, bias);
    }

    @Override
    public void add(GpuTensor out, GpuTensor a, GpuTensor b, boolean relu) {
        ops.add(out, a, b, relu);
    }

    // ---------------------------------------------------------------- backward

    @Override
    public void linearBackward(GpuTensor dIn, GpuTensor dWeight, GpuTensor dBias, GpuTensor dOut, GpuTensor in,
                               GpuTensor weight) {
        grads.linearBackward(dIn, dWeight, dBias, dOut, in, weight);
    }

    @Override
    public float softmaxCrossEntropy(GpuTensor dLogits, GpuTensor logits, int[] targets, float labelSmoothing) {
        return grads.softmaxCrossEntropy(dLogits, logits, targets, labelSmoothing);
    }

    @Override
    public void globalAvgPoolBackward(GpuTensor dIn, GpuTensor dOut) {
        grads.globalAvgPoolBackward(dIn, dOut);
    }

    @Override
    public void reluBackward(GpuTensor dIn, GpuTensor dOut, GpuTensor out) {
        grads.reluBackward(dIn, dOut, out);
    }

    @Override
    public void accumulate(GpuTensor into, GpuTensor grad) {
        grads.accumulate(into, grad);
    }

    @Override
    public void maxPoolBackward(GpuTensor dIn, GpuTensor dOut, GpuTensor in, GpuTensor out, int kernel, int stride,
                                int pad) {
        grads.maxPoolBackward(dIn, dOut, in, out, kernel, stride, pad);
    }

    @Override
    public void batchNormBackward(GpuTensor dIn, GpuTensor dGamma, GpuTensor dBeta, GpuTensor dOut, GpuTensor in,
                                  GpuTensor gamma, GpuTensor mean, GpuTensor var, float eps) {
        grads.batchNormBackward(dIn, dGamma, dBeta, dOut, in, gamma, mean, var, eps);
    }

    @Override
    public void batchNormTrain(GpuTensor out, GpuTensor saveMean, GpuTensor saveInvStd, GpuTensor in, GpuTensor gamma,
                               GpuTensor beta, GpuTensor runningMean, GpuTensor runningVar, float momentum, float eps) {
        grads.batchNormTrain(out, saveMean, saveInvStd, in, gamma, beta, runningMean, runningVar, momentum, eps);
    }

    @Override
    public void batchNormTrainBackward(GpuTensor dIn, GpuTensor dGamma, GpuTensor dBeta, GpuTensor dOut, GpuTensor in,
                                       GpuTensor gamma, GpuTensor saveMean, GpuTensor saveInvStd) {
        grads.batchNormTrainBackward(dIn, dGamma, dBeta, dOut, in, gamma, saveMean, saveInvStd);
    }

    @Override
    public void conv2dBackwardData(GpuTensor dIn, GpuTensor dOut, GpuTensor weight, int stride, int pad, int groups) {
        grads.conv2dBackwardData(dIn, dOut, weight, stride, pad, groups);
    }

    @Override
    public void conv2dBackwardFilter(GpuTensor dWeight, GpuTensor dOut, GpuTensor in, int stride, int pad, int groups) {
        grads.conv2dBackwardFilter(dWeight, dOut, in, stride, pad, groups);
    }

    // ---------------------------------------------------------------- the end of a step

    /** Per-tensor sums of squares in double, the coefficient and the norm (train.cu), then the scaling; waits. */
    @Override
    public float clipGradNorm(List<Param<GpuTensor>> params, float maxNorm) {
        long bytes = 8L * Math.max(params.size(), 1) + 8;
        if (clipScratch == null || clipScratch.bytes() < bytes) {
            if (clipScratch != null) {
                ops.synchronize();
                clipScratch.close();
            }
            clipScratch = DeviceMemory.allocate(bytes, "gradient clipping scratch");
        }
        DeviceBuffer sumsq = clipScratch.buffer().slice(0, 8L * params.size());
        DeviceBuffer coef = clipScratch.buffer().slice(8L * Math.max(params.size(), 1), 8);
        for (int i = 0; i < params.size(); i++) {
            Param<GpuTensor> p = params.get(i);
            grads.kernels().gradSumSquares(ops.stream(), p.grad().buffer(), sumsq, p.shape().size(), i);
        }
        grads.kernels().clipCoefficient(ops.stream(), sumsq, coef, params.size(), maxNorm);
        for (Param<GpuTensor> p : params) {
            grads.kernels().scaleByDevice(ops.stream(), p.grad().buffer(), coef, p.shape().size());
        }
        float[] c = new float[2];
        coef.download(ops.stream(), c);
        return c[1];
    }

    @Override
    public void step(List<Param<GpuTensor>> params, float lr) {
        optimizer.step(grads, params, lr);
    }

    /** The device optimizer as an {@link Optimizer} for checkpoints: its steps happen in {@link #step}. */
    @Override
    public Optimizer optimizer(List<Param<GpuTensor>> params) {
        Map<String, Shape> shapes = new HashMap<>();
        for (Param<GpuTensor> p : params) {
            shapes.put(p.name(), p.shape());
        }
        return new Optimizer() {
            @Override
            public void step(List<Parameter> hostParams, float lr) {
                throw new UnsupportedOperationException("the GPU optimizer (" + optimizer.describe() + ") updates the "
                        + "device parameters inside the trainer's step; it cannot step host parameters");
            }

            @Override
            public Map<String, Tensor> state() {
                return optimizer.state(ops.stream(), shapes);
            }

            @Override
            public void loadState(Map<String, Tensor> state) {
                optimizer.loadState(ops.stream(), state);
            }

            @Override
            public String describe() {
                return optimizer.describe();
            }

            @Override
            public String toString() {
                return optimizer.toString();
            }
        };
    }

    @Override
    public void close() {
        if (clipScratch != null) {
            clipScratch.close();
            clipScratch = null;
        }
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                // best effort: the first failure is the one the caller saw
            }
        }
    }
}
