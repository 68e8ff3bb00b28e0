package dev.jresnet.nn;

/**
 * One step of a network description: it reads one or more values and writes one new value. Values are numbered
 * in the order they are made; value 0 is the network input. Every executor (the CPU reference, the fused CPU
 * path, the CUDA plan, the trainers, ONNX export) handles each kind through {@link StepVisitor}, so a new kind
 * of step does not compile until every executor knows it.
 */
public sealed interface Step permits ConvBn, AddRelu, MaxPool, GlobalAvgPool, Linear {
    /** The values this step reads, in argument order. */
    int[] inputs();

    /** The value this step writes. */
    int out();

    /** Calls the visitor's method for this kind of step. */
    void accept(StepVisitor visitor);

    /** Output side of a square window sliding over {@code in} positions (floor, as PyTorch's ceil_mode=False). */
    static int outSize(int in, int kernel, int stride, int pad) {
        return (in + 2 * pad - kernel) / stride + 1;
    }
}
