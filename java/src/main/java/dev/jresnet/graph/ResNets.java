package dev.jresnet.graph;

import dev.jresnet.nn.NetworkSpec;

/**
 * torchvision's ResNet family, written once. Every executor walks what {@link #spec} returns: the CPU reference,
 * the fused CPU path, the CUDA plan, both trainers, ONNX export and import, the counts and shapes. Shapes in the
 * comments are for an {@code H x W} input; {@code e} is the block's expansion (1 for basic blocks, 4 for
 * bottlenecks), so the features are 512e channels. Steps come in torchvision's forward order, so tensors register
 * in its state_dict order.
 */
public final class ResNets {
    private ResNets() {}

    /** The network of {@code a}, step by step. */
    public static NetworkSpec spec(Architecture a) {
        NetworkSpec.Builder b = NetworkSpec.builder(a.id(), 3);
        int x = b.input();                                                    // [N, 3, H, W]
        b.stage("stem");
        x = b.convBn("conv1", "bn1", x, 64, 7, 2, 3, 1, true);                // [N, 64, H/2, W/2]
        x = b.maxPool(x, 3, 2, 1);                                            // [N, 64, H/4, W/4]
        for (int stage = 1; stage <= 4; stage++) {
            int planes = 64 << (stage - 1);                                   // 64, 128, 256, 512
            b.stage("layer" + stage);
            for (int i = 0; i < a.layers().get(stage - 1); i++) {
                int stride = stage > 1 && i == 0 ? 2 : 1;                     // layer2..4 halve H and W once
                String name = "layer" + stage + "." + i;
                x = a.block() == Architecture.Block.BASIC
                        ? basicBlock(b, name, x, planes, stride)
                        : bottleneck(b, a, name, x, planes, stride);          // [N, planes*e, H/2^(stage+1), ...]
            }
        }
        b.stage("avgpool");
        x = b.globalAvgPool(x);                                               // [N, 512e]
        b.stage("fc");
        b.linear("fc", x, a.numClasses());                                    // [N, classes]
        return b.build();
    }

    /** Two 3x3 convolutions, the first with the stride; the shortcut projects when the shape changes. */
    private static int basicBlock(NetworkSpec.Builder b, String name, int x, int planes, int stride) {
        int t = b.convBn(name + ".conv1", name + ".bn1", x, planes, 3, stride, 1, 1, true);    // [N, planes, H/s, W/s]
        t = b.convBn(name + ".conv2", name + ".bn2", t, planes, 3, 1, 1, 1, false);           // [N, planes, H/s, W/s]
        return b.addRelu(t, shortcut(b, name, x, planes, stride));                              // [N, planes, H/s, W/s]
    }

    /**
     * 1x1 reduce to {@code width}, 3x3 with {@code groups} groups, 1x1 expand to 4 x planes. v1.5 (torchvision) puts
     * the stride on the 3x3, v1 on the first 1x1. width = planes * widthPerGroup / 64 * groups: planes for ResNet,
     * 2 x planes for Wide ResNet-2, 32 groups of 4 (or 8) channels at layer1 for ResNeXt.
     */
    private static int bottleneck(NetworkSpec.Builder b, Architecture a, String name, int x, int planes, int stride) {
        int width = planes * a.widthPerGroup() / 64 * a.groups();
        boolean v15 = a.variant() == Variant.V1_5;
        int t = b.convBn(name + ".conv1", name + ".bn1", x, width, 1, v15 ? 1 : stride, 0, 1, true);   // [N, width, H', W']
        t = b.convBn(name + ".conv2", name + ".bn2", t, width, 3, v15 ? stride : 1, 1, a.groups(), true); // [N, width, H/s, W/s]
        t = b.convBn(name + ".conv3", name + ".bn3", t, planes * 4, 1, 1, 0, 1, false);                // [N, 4p, H/s, W/s]
        return b.addRelu(t, shortcut(b, name, x, planes * 4, stride));                                   // [N, 4p, H/s, W/s]
    }

    /** The input itself, or a strided 1x1 convolution and batch norm where the block changes shape. */
    private static int shortcut(NetworkSpec.Builder b, String name, int x, int outChannels, int stride) {
        if (stride == 1 && b.channels(x) == outChannels) {
            return x;
        }
        return b.convBn(name + ".downsample.0", name + ".downsample.1", x, outChannels, 1, stride, 0, 1, false);
    }
}
