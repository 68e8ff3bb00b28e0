package dev.jresnet.nn;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.tensor.Tensor;

/** Inference-mode batch normalisation with torchvision's eps (1e-5). */
public final class BatchNorm2d implements Module {
    public static final float EPS = 1e-5f;

    public final String name;
    public final int channels;
    /** gamma [C] */
    public final Tensor weight;
    /** beta [C] */
    public final Tensor bias;
    public final Tensor runningMean;
    public final Tensor runningVar;

    public BatchNorm2d(String name, int channels) {
        this.name = name;
        this.channels = channels;
        this.weight = Tensor.zeros(channels);
        this.bias = Tensor.zeros(channels);
        this.runningMean = Tensor.zeros(channels);
        this.runningVar = Tensor.zeros(channels);
    }

    /** Normalises x [N, C, H, W] in place, then applies ReLU when {@code relu}. */
    public Tensor forwardInPlace(Tensor x, boolean relu) {
        CpuOps.batchNorm(x, x, weight, bias, runningMean, runningVar, EPS, relu);
        return x;
    }

    @Override
    public void visitTensors(TensorVisitor v) {
        v.visit(name + ".weight", weight, TensorVisitor.Kind.PARAMETER);
        v.visit(name + ".bias", bias, TensorVisitor.Kind.PARAMETER);
        v.visit(name + ".running_mean", runningMean, TensorVisitor.Kind.BUFFER);
        v.visit(name + ".running_var", runningVar, TensorVisitor.Kind.BUFFER);
    }

    @Override
    public long flops(int h, int w) {
        return 0; // folded into the convolution on fast paths; not counted, as torchvision's 4.09 GMACs doesn't
    }
}
