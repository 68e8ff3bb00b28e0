package dev.jresnet.resnet;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.cpu.FusedConv;
import dev.jresnet.nn.BatchNorm2d;
import dev.jresnet.nn.Bottleneck;
import dev.jresnet.nn.Conv2d;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.Module;
import dev.jresnet.nn.TensorVisitor;
import dev.jresnet.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * ResNet-50 written out stage by stage, with every tensor under its torchvision name. This is the CPU
 * reference forward pass; the layers it holds are what weight files are loaded into.
 */
public final class ResNet50Graph implements Module {
    public final ResNet50Config config;
    public final Conv2d conv1;
    public final BatchNorm2d bn1;
    public final List<Bottleneck> layer1;
    public final List<Bottleneck> layer2;
    public final List<Bottleneck> layer3;
    public final List<Bottleneck> layer4;
    public final Linear fc;

    public ResNet50Graph(ResNet50Config config) {
        this.config = config;
        boolean v15 = config.variant() == Variant.V1_5;
        conv1 = new Conv2d("conv1", 3, 64, 7, 2, 3);
        bn1 = new BatchNorm2d("bn1", 64);
        layer1 = stage("layer1", 64, 64, 3, 1, v15);
        layer2 = stage("layer2", 256, 128, 4, 2, v15);
        layer3 = stage("layer3", 512, 256, 6, 2, v15);
        layer4 = stage("layer4", 1024, 512, 3, 2, v15);
        fc = new Linear("fc", ResNet50Config.FEATURES, config.numClasses());
    }

    private static List<Bottleneck> stage(String name, int in, int width, int blocks, int stride, boolean v15) {
        List<Bottleneck> list = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            list.add(new Bottleneck(name + "." + i, i == 0 ? in : width * Bottleneck.EXPANSION, width,
                    i == 0 ? stride : 1, v15));
        }
        return List.copyOf(list);
    }

    /**
     * Marks the weights as final: from now on {@link #forward} and {@link #features} run the fused CPU path
     * ({@link FusedConv}: weights packed once, batch norm, ReLU and the residual add applied as each
     * convolution stores its output), built on first use from the weights as they are then. Weights must
     * not change afterwards; a graph that is trained keeps the reference path by never being frozen.
     * Idempotent; returns this.
     */
    public ResNet50Graph freeze() {
        frozen = true;
        return this;
    }

    public boolean frozen() {
        return frozen;
    }

    private volatile boolean frozen;
    private volatile Fused fused;

    /** Logits [N, numClasses] of a normalised batch x [N, 3, H, W] (224x224 for ImageNet). */
    public Tensor forward(Tensor x) {
        return fc.forward(features(x));        // [N, classes]
    }

    /** The pooled 2048-d features [N, 2048] that the classifier sees. */
    public Tensor features(Tensor x) {
        if (frozen) {
            requireInput(x);
            return fused().features(x);
        }
        return referenceFeatures(x);
    }

    /** {@link #forward} on the unfused reference ops, frozen or not. */
    public Tensor referenceForward(Tensor x) {
        return fc.forward(referenceFeatures(x));
    }

    private Fused fused() {
        Fused f = fused;
        if (f == null) {
            synchronized (this) {
                f = fused;
                if (f == null) {
                    fused = f = new Fused(this);
                }
            }
        }
        return f;
    }

    /** The network as fused convolutions (conv + BN [+ residual] [+ ReLU]), in forward order. */
    private static final class Fused {
        private final FusedConv stem;
        private final List<FusedConv[]> blocks = new ArrayList<>(); // conv1, conv2, conv3, downsample or null

        Fused(ResNet50Graph g) {
            stem = fuse(g.conv1, g.bn1);
            for (List<Bottleneck> stage : g.stages()) {
                for (Bottleneck b : stage) {
                    blocks.add(new FusedConv[] {fuse(b.conv1, b.bn1), fuse(b.conv2, b.bn2), fuse(b.conv3, b.bn3),
                            b.downsampleConv == null ? null : fuse(b.downsampleConv, b.downsampleBn)});
                }
            }
        }

        private static FusedConv fuse(Conv2d conv, BatchNorm2d bn) {
            return FusedConv.of(conv.weight, conv.stride, conv.padding, bn.weight, bn.bias, bn.runningMean,
                    bn.runningVar, BatchNorm2d.EPS);
        }

        Tensor features(Tensor x) {
            Tensor y = maxPool(stem.forward(x, null, true));
            for (FusedConv[] b : blocks) {
                Tensor shortcut = b[3] == null ? y : b[3].forward(y, null, false);
                Tensor t = b[0].forward(y, null, true);
                t = b[1].forward(t, null, true);
                y = b[2].forward(t, shortcut, true);
            }
            Tensor pooled = Tensor.zeros(y.dim(0), y.dim(1));
            CpuOps.globalAvgPool(pooled, y);
            return pooled;
        }
    }

    private Tensor referenceFeatures(Tensor x) {
        requireInput(x);
        Tensor y = conv1.forward(x);           // [N, 64, 112, 112]
        bn1.forwardInPlace(y, true);
        y = maxPool(y);                        // [N, 64, 56, 56]
        y = run(layer1, y);                    // [N, 256, 56, 56]
        y = run(layer2, y);                    // [N, 512, 28, 28]
        y = run(layer3, y);                    // [N, 1024, 14, 14]
        y = run(layer4, y);                    // [N, 2048, 7, 7]
        Tensor pooled = Tensor.zeros(y.dim(0), y.dim(1));
        CpuOps.globalAvgPool(pooled, y);       // [N, 2048]
        return pooled;
    }

    private static Tensor maxPool(Tensor x) {
        int h = (x.dim(2) + 2 - 3) / 2 + 1;
        int w = (x.dim(3) + 2 - 3) / 2 + 1;
        Tensor y = Tensor.zeros(x.dim(0), x.dim(1), h, w);
        CpuOps.maxPool(y, x, 3, 2, 1);
        return y;
    }

    private static Tensor run(List<Bottleneck> stage, Tensor x) {
        for (Bottleneck b : stage) {
            x = b.forward(x);
        }
        return x;
    }

    static void requireInput(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != 3 || x.dim(2) < 32 || x.dim(3) < 32) {
            throw new IllegalArgumentException("ResNet-50 input must be [N, 3, H, W] with H, W >= 32, found "
                    + x.shape());
        }
    }

    /** All stages in order, for code that walks the blocks. */
    public List<List<Bottleneck>> stages() {
        return List.of(layer1, layer2, layer3, layer4);
    }

    @Override
    public void visitTensors(TensorVisitor v) {
        conv1.visitTensors(v);
        bn1.visitTensors(v);
        for (List<Bottleneck> s : stages()) {
            for (Bottleneck b : s) {
                b.visitTensors(v);
            }
        }
        fc.visitTensors(v);
    }

    /** Learnable parameters (weights and biases, not running statistics): 25,557,032 for 1000 classes. */
    public long parameterCount() {
        long[] n = {0};
        visitTensors((name, t, kind) -> {
            if (kind == TensorVisitor.Kind.PARAMETER) {
                n[0] += t.size();
            }
        });
        return n[0];
    }

    @Override
    public long flops(int h, int w) {
        long f = conv1.flops(h, w);
        h = conv1.outSize(h);
        w = conv1.outSize(w);
        h = (h + 2 - 3) / 2 + 1;
        w = (w + 2 - 3) / 2 + 1;
        for (List<Bottleneck> s : stages()) {
            for (Bottleneck b : s) {
                f += b.flops(h, w);
                h = (h - 1) / b.stride + 1;
                w = (w - 1) / b.stride + 1;
            }
        }
        return f + fc.flops(1, 1);
    }
}
