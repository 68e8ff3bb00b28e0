package dev.jresnet.nn;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.tensor.Tensor;

/** A fully connected layer: y = x W^T + b. */
public final class Linear implements Module {
    public final String name;
    public final int inFeatures;
    public final int outFeatures;
    /** [outFeatures, inFeatures] */
    public final Tensor weight;
    /** [outFeatures] */
    public final Tensor bias;

    public Linear(String name, int inFeatures, int outFeatures) {
        this.name = name;
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = Tensor.zeros(outFeatures, inFeatures);
        this.bias = Tensor.zeros(outFeatures);
    }

    /** x [N, inFeatures] -> [N, outFeatures] */
    public Tensor forward(Tensor x) {
        Tensor y = Tensor.zeros(x.dim(0), outFeatures);
        CpuOps.linear(y, x, weight, bias);
        return y;
    }

    @Override
    public void visitTensors(TensorVisitor v) {
        v.visit(name + ".weight", weight, TensorVisitor.Kind.PARAMETER);
        v.visit(name + ".bias", bias, TensorVisitor.Kind.PARAMETER);
    }

    @Override
    public long flops(int h, int w) {
        return 2L * inFeatures * outFeatures;
    }
}
