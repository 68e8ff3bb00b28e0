package dev.jresnet.nn;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.tensor.Tensor;

/** A square-kernel 2-D convolution without bias (ResNet's convolutions are always followed by BatchNorm). */
public final class Conv2d implements Module {
    public final String name;
    public final int inChannels;
    public final int outChannels;
    public final int kernel;
    public final int stride;
    public final int padding;
    /** [outChannels, inChannels, kernel, kernel] */
    public final Tensor weight;

    public Conv2d(String name, int inChannels, int outChannels, int kernel, int stride, int padding) {
        this.name = name;
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.weight = Tensor.zeros(outChannels, inChannels, kernel, kernel);
    }

    public int outSize(int inSize) {
        return (inSize + 2 * padding - kernel) / stride + 1;
    }

    /** x [N, inChannels, H, W] -> [N, outChannels, H', W'] */
    public Tensor forward(Tensor x) {
        Tensor y = Tensor.zeros(x.dim(0), outChannels, outSize(x.dim(2)), outSize(x.dim(3)));
        CpuOps.conv2d(y, x, weight, null, stride, padding);
        return y;
    }

    @Override
    public void visitTensors(TensorVisitor v) {
        v.visit(name + ".weight", weight, TensorVisitor.Kind.PARAMETER);
    }

    @Override
    public long flops(int h, int w) {
        return 2L * outChannels * inChannels * kernel * kernel * outSize(h) * outSize(w);
    }
}
