package dev.jresnet.nn;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.tensor.Tensor;

/**
 * ResNet's bottleneck block: 1x1 reduce, 3x3, 1x1 expand (4x), plus the shortcut, then ReLU.
 * torchvision v1.5 puts the block's stride on the 3x3 convolution; the original v1 puts it on the first 1x1.
 */
public final class Bottleneck implements Module {
    public static final int EXPANSION = 4;

    public final String name;
    public final int stride;
    public final Conv2d conv1;
    public final BatchNorm2d bn1;
    public final Conv2d conv2;
    public final BatchNorm2d bn2;
    public final Conv2d conv3;
    public final BatchNorm2d bn3;
    /** Projection shortcut (1x1 conv + BN) when the shape changes; null for the identity shortcut. */
    public final Conv2d downsampleConv;
    public final BatchNorm2d downsampleBn;

    public Bottleneck(String name, int inChannels, int width, int stride, boolean strideOn3x3) {
        int out = width * EXPANSION;
        this.name = name;
        this.stride = stride;
        conv1 = new Conv2d(name + ".conv1", inChannels, width, 1, strideOn3x3 ? 1 : stride, 0);
        bn1 = new BatchNorm2d(name + ".bn1", width);
        conv2 = new Conv2d(name + ".conv2", width, width, 3, strideOn3x3 ? stride : 1, 1);
        bn2 = new BatchNorm2d(name + ".bn2", width);
        conv3 = new Conv2d(name + ".conv3", width, out, 1, 1, 0);
        bn3 = new BatchNorm2d(name + ".bn3", out);
        if (stride != 1 || inChannels != out) {
            downsampleConv = new Conv2d(name + ".downsample.0", inChannels, out, 1, stride, 0);
            downsampleBn = new BatchNorm2d(name + ".downsample.1", out);
        } else {
            downsampleConv = null;
            downsampleBn = null;
        }
    }

    public int outChannels() {
        return conv3.outChannels;
    }

    /** x [N, Cin, H, W] -> [N, 4*width, H/stride, W/stride] */
    public Tensor forward(Tensor x) {
        Tensor y = bn1.forwardInPlace(conv1.forward(x), true);
        y = bn2.forwardInPlace(conv2.forward(y), true);
        y = bn3.forwardInPlace(conv3.forward(y), false);
        Tensor shortcut = downsampleConv == null ? x : downsampleBn.forwardInPlace(downsampleConv.forward(x), false);
        CpuOps.add(y, y, shortcut, true);
        return y;
    }

    @Override
    public void visitTensors(TensorVisitor v) {
        conv1.visitTensors(v);
        bn1.visitTensors(v);
        conv2.visitTensors(v);
        bn2.visitTensors(v);
        conv3.visitTensors(v);
        bn3.visitTensors(v);
        if (downsampleConv != null) {
            downsampleConv.visitTensors(v);
            downsampleBn.visitTensors(v);
        }
    }

    @Override
    public long flops(int h, int w) {
        int h1 = conv1.outSize(h), w1 = conv1.outSize(w);
        int h2 = conv2.outSize(h1), w2 = conv2.outSize(w1);
        long f = conv1.flops(h, w) + conv2.flops(h1, w1) + conv3.flops(h2, w2);
        if (downsampleConv != null) {
            f += downsampleConv.flops(h, w);
        }
        return f;
    }
}
