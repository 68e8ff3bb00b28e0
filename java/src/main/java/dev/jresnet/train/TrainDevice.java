package dev.jresnet.train;

import dev.jresnet.tensor.Tensor;

import java.util.List;

/**
 * One device's arithmetic for {@link Trainer}: its tensors ({@code T}), the forward ops it trains with (twins of
 * {@code CpuOps}), the backward ops (twins of {@code CpuGrads}), gradient clipping and the optimizer. The CPU
 * ({@link CpuTrainDevice}: the reference ops on heap tensors) and CUDA ({@code dev.jresnet.cuda.train.GpuTrainDevice}:
 * {@code GpuOps} and {@code GpuGrads}) implement it with the same names and argument orders, so the trainer's walk
 * of the network is written once, and tested on the CPU. Every method's contract is that of the CpuOps or CpuGrads
 * method of the same name; tensors are NCHW fp32.
 */
public interface TrainDevice<T> extends AutoCloseable {
    /** Which device and why, for the log. */
    String description();

    // ---------------------------------------------------------------- memory

    /** A new zeroed tensor of {@code dims}. */
    T allocate(String purpose, int... dims);

    /**
     * The device tensor of a model tensor {@code host}, with its values. On the CPU it is {@code host} itself (so
     * training updates the host model in place); elsewhere a copy, kept until {@link #free}.
     */
    T adopt(Tensor host, String name);

    /** dst (device) = src (host), same dims. */
    void upload(T dst, Tensor src);

    /** dst (host) = src (device), same dims; a no-op when they are the same memory. */
    void download(T src, Tensor dst);

    /** dst = src, same dims. */
    void copy(T dst, T src);

    /** t = 0. */
    void zero(T t);

    /** Frees what {@link #allocate} or {@link #adopt} made (nothing to do on the CPU). */
    void free(T t);

    // ---------------------------------------------------------------- forward (CpuOps's order)

    void conv2d(T out, T in, T weight, int stride, int pad, int groups);

    void batchNorm(T out, T in, T gamma, T beta, T mean, T var, float eps, boolean relu);

    void relu(T out, T in);

    void maxPool(T out, T in, int kernel, int stride, int pad);

    void globalAvgPool(T out, T in);

    void linear(T out, T in, T weight, T bias);

    void add(T out, T a, T b, boolean relu);

    // ---------------------------------------------------------------- backward (CpuGrads's order)

    void linearBackward(T dIn, T dWeight, T dBias, T dOut, T in, T weight);

    float softmaxCrossEntropy(T dLogits, T logits, int[] targets, float labelSmoothing);

    void globalAvgPoolBackward(T dIn, T dOut);

    void reluBackward(T dIn, T dOut, T out);

    void accumulate(T into, T grad);

    void maxPoolBackward(T dIn, T dOut, T in, T out, int kernel, int stride, int pad);

    void batchNormBackward(T dIn, T dGamma, T dBeta, T dOut, T in, T gamma, T mean, T var, float eps);

    void batchNormTrain(T out, T saveMean, T saveInvStd, T in, T gamma, T beta, T runningMean, T runningVar,
                        float momentum, float eps);

    void batchNormTrainBackward(T dIn, T dGamma, T dBeta, T dOut, T in, T gamma, T saveMean, T saveInvStd);

    void conv2dBackwardData(T dIn, T dOut, T weight, int stride, int pad, int groups);

    void conv2dBackwardFilter(T dWeight, T dOut, T in, int stride, int pad, int groups);

    // ---------------------------------------------------------------- the end of a step

    /**
     * {@code torch.nn.utils.clip_grad_norm_}: scales every gradient by min(1, maxNorm / (total + 1e-6)) and returns
     * the total L2 norm before scaling (see {@link GradClipping}).
     */
    float clipGradNorm(List<Param<T>> params, float maxNorm);

    /** One update of every parameter by the device's optimizer with learning rate {@code lr}. */
    void step(List<Param<T>> params, float lr);

    /**
     * The optimizer for checkpoints: {@link Optimizer#state()}, {@link Optimizer#loadState} and
     * {@link Optimizer#describe()} with the Java optimizers' keys, whatever the device.
     */
    Optimizer optimizer(List<Param<T>> params);

    @Override
    default void close() {}
}
