package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.cpu.CpuOps;
import dev.jresnet.nn.BatchNorm2d;
import dev.jresnet.nn.Bottleneck;
import dev.jresnet.nn.Conv2d;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.TensorVisitor;
import dev.jresnet.resnet.ResNet50Config;
import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.resnet.WeightBinding;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.WeightSet;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * ResNet-50 for fine-tuning on the CPU: the weights of a {@link ResNet50Graph}, a trainable suffix of its stages
 * and the backward pass through that suffix.
 *
 * <p>Stages in order are the stem (conv1, bn1, ReLU, max-pool), layer1..layer4, and the head (average pool, fc).
 * {@link Unfreeze} names the first trainable one; it and everything after it train. The frozen prefix runs in
 * inference mode and keeps no activations; the trainable suffix keeps what its backward needs. Parameters are
 * the graph's own tensors, updated in place by an {@link Optimizer}, so {@link #graph()} is always the current
 * model.
 *
 * <p>BatchNorm of trainable stages: with {@code trainBn} it runs in training mode (batch statistics, running
 * statistics updated with momentum 0.1), as {@code module.train()}; without it (the default) it keeps using
 * its running statistics, as {@code bn.eval()}. Either way its gamma and beta are trainable parameters, as they
 * are in PyTorch for a BatchNorm put in eval mode whose parameters still require grad.
 *
 * <p>Not thread-safe: a training forward caches activations for the following {@link #backward}. Use one
 * instance per training loop; {@link #evalLogits} only reads the weights.
 */
public final class TrainableResNet {
    /** The first trainable stage: that stage and every one after it train. */
    public enum Unfreeze {
        FC(5), LAYER4(4), LAYER3(3), LAYER2(2), LAYER1(1), ALL(0);

        /** 0 = stem, 1..4 = layer1..layer4, 5 = head. */
        final int firstStage;

        Unfreeze(int firstStage) {
            this.firstStage = firstStage;
        }

        /** fc, layer4, layer3, layer2, layer1 or all. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Unfreeze parse(String s) {
            for (Unfreeze u : values()) {
                if (u.id().equalsIgnoreCase(s.strip())) {
                    return u;
                }
            }
            throw new IllegalArgumentException("unfreeze must be one of fc, layer4, layer3, layer2, layer1, all; found \""
                    + s + "\"");
        }
    }

    private static final int HEAD = 5;
    /** The stem's max-pool: 3x3 window, stride 2, padding 1. */
    private static final int POOL_K = 3, POOL_S = 2, POOL_P = 1;

    private final ResNet50Graph graph;
    private final Unfreeze unfreeze;
    private final boolean trainBn;
    private final List<Parameter> parameters;
    private final Map<String, Tensor> grads;

    private final ConvBn stem;                 // null unless ALL
    private final List<Block> blocks;          // the trainable bottlenecks, in forward order
    private final Tensor fcWeightGrad, fcBiasGrad;

    // Training-forward caches, cleared by backward.
    private Tensor stemActivation;             // the stem's ReLU output, the max-pool's input [N,64,H/2,W/2]
    private Tensor pooledFeatures;             // fc input [N,2048]
    private int[] lastMapShape;                // layer4 output dims, for the average pool's backward
    private boolean cached;

    private TrainableResNet(ResNet50Graph graph, Unfreeze unfreeze, boolean trainBn) {
        this.graph = graph;
        this.unfreeze = unfreeze;
        this.trainBn = trainBn;
        this.grads = new HashMap<>();
        int first = unfreeze.firstStage;
        stem = first == 0 ? new ConvBn(graph.conv1, graph.bn1, true) : null;
        List<Block> bs = new ArrayList<>();
        List<List<Bottleneck>> stages = graph.stages();
        for (int s = Math.max(1, first); s <= 4; s++) {
            for (Bottleneck b : stages.get(s - 1)) {
                bs.add(new Block(b));
            }
        }
        blocks = List.copyOf(bs);
        fcWeightGrad = grad(graph.fc.name + ".weight", graph.fc.weight);
        fcBiasGrad = grad(graph.fc.name + ".bias", graph.fc.bias);
        // In the graph's (torchvision's state_dict) order, trainable only.
        List<Parameter> ps = new ArrayList<>();
        graph.visitTensors((name, t, kind) -> {
            Tensor g = grads.get(name);
            if (kind == TensorVisitor.Kind.PARAMETER && g != null) {
                ps.add(new Parameter(name, t, g));
            }
        });
        parameters = List.copyOf(ps);
    }

    /** Trains the given graph (its weights are used and updated in place), keeping its fc. */
    public static TrainableResNet of(ResNet50Graph graph, Unfreeze unfreeze, boolean trainBn) {
        if (graph == null || unfreeze == null) {
            throw new IllegalArgumentException("graph and unfreeze must not be null");
        }
        if (graph.frozen()) {
            // A frozen graph's fast path caches packed weights; training them in place would leave it stale.
            throw new IllegalArgumentException("cannot train a frozen ResNet50Graph in place (its inference fast path"
                    + " caches packed weights); use TrainableResNet.withNewHead, which copies");
        }
        return new TrainableResNet(graph, unfreeze, trainBn);
    }

    /**
     * A copy of {@code pretrained} with a new head for {@code numClasses} classes, initialised from {@code seed}
     * as torchvision's {@code nn.Linear} does ({@link #initialiseLinear}); {@code pretrained} is left unchanged.
     */
    public static TrainableResNet withNewHead(ResNet50Graph pretrained, int numClasses, long seed, Unfreeze unfreeze,
                                              boolean trainBn) {
        if (pretrained == null || unfreeze == null) {
            throw new IllegalArgumentException("graph and unfreeze must not be null");
        }
        ResNet50Graph g = new ResNet50Graph(pretrained.config.withClasses(numClasses));
        Map<String, Tensor> source = new HashMap<>();
        pretrained.visitTensors((name, t, kind) -> source.put(name, t));
        g.visitTensors((name, t, kind) -> {
            if (!name.startsWith(g.fc.name + ".")) {
                System.arraycopy(source.get(name).data(), 0, t.data(), 0, t.size());
            }
        });
        initialiseLinear(g.fc, seed);
        return new TrainableResNet(g, unfreeze, trainBn);
    }

    /**
     * torchvision's {@code nn.Linear.reset_parameters}: kaiming_uniform(a=√5) for the weight, whose bound
     * gain·√(3/fan_in) with gain = √(2/(1+a²)) = √(1/3) is 1/√fan_in, and U(±1/√fan_in) for the bias. The
     * distribution is torch's; the random stream is Java's (SplittableRandom from {@code seed}), not torch's.
     */
    public static void initialiseLinear(Linear fc, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double bound = 1.0 / Math.sqrt(fc.inFeatures);
        for (Tensor t : new Tensor[] {fc.weight, fc.bias}) {
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) {
                d[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
            }
        }
    }

    private Tensor grad(String name, Tensor value) {
        Tensor g = Tensor.zeros(value.shape());
        grads.put(name, g);
        return g;
    }

    // ---------------------------------------------------------------- accessors

    /** The model being trained: its tensors are the parameters, so it can be saved or run at any time. */
    public ResNet50Graph graph() {
        return graph;
    }

    public Unfreeze unfreeze() {
        return unfreeze;
    }

    public boolean trainBn() {
        return trainBn;
    }

    public int numClasses() {
        return graph.config.numClasses();
    }

    /** The trainable parameters with their gradients, torchvision names in state_dict order. */
    public List<Parameter> parameters() {
        return parameters;
    }

    /** Sets every gradient to zero; {@link #backward} adds to them, as PyTorch's {@code .grad}. */
    public void zeroGrad() {
        for (Parameter p : parameters) {
            java.util.Arrays.fill(p.grad().data(), 0f);
        }
    }

    /** Every tensor (parameters and running statistics), torchvision names: one self-contained weight file. */
    public WeightSet exportWeights(Map<String, String> metadata) {
        return WeightBinding.export(graph, metadata);
    }

    // ---------------------------------------------------------------- forward

    /** Inference-mode logits [N, classes] of x [N,3,H,W]: every BatchNorm on its running statistics; no caching. */
    public Tensor evalLogits(Tensor x) {
        return graph.forward(x);
    }

    /** Logits [N, classes] of x [N,3,H,W], caching what {@link #backward} needs. */
    public Tensor forwardTrain(Tensor x) {
        return forwardFromFrozen(forwardFrozen(x));
    }

    /**
     * The output of the frozen prefix, in inference mode: x itself (unfreeze all), the max-pooled stem output
     * [N,64,H/4,W/4] (layer1), the output of the stage before the first trainable one (layer2..layer4), or the
     * pooled features [N,2048] (fc). Fixed for fixed weights, so it may be cached across epochs.
     */
    public Tensor forwardFrozen(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != 3 || x.dim(2) < 32 || x.dim(3) < 32) {
            throw new IllegalArgumentException("TrainableResNet input must be [N, 3, H, W] with H, W >= 32, found "
                    + x.shape());
        }
        int first = unfreeze.firstStage;
        if (first == 0) {
            return x;
        }
        Tensor y = graph.conv1.forward(x);                  // [N, 64, H/2, W/2]
        graph.bn1.forwardInPlace(y, true);
        y = maxPool(y);                                     // [N, 64, H/4, W/4]
        List<List<Bottleneck>> stages = graph.stages();
        for (int s = 1; s < Math.min(first, HEAD); s++) {
            for (Bottleneck b : stages.get(s - 1)) {
                y = b.forward(y);
            }
        }
        if (first < HEAD) {
            return y;
        }
        Tensor pooled = Tensor.zeros(y.dim(0), y.dim(1));  // [N, 2048]
        CpuOps.globalAvgPool(pooled, y);
        return pooled;
    }

    /** Logits [N, classes] from {@link #forwardFrozen}'s output, running the trainable suffix and caching for backward. */
    public Tensor forwardFromFrozen(Tensor frozen) {
        requireFrozenShape(frozen);
        Tensor y = frozen;
        if (stem != null) {
            stemActivation = stem.forward(y);               // [N, 64, H/2, W/2]
            y = maxPool(stemActivation);                    // [N, 64, H/4, W/4]
        }
        for (Block b : blocks) {
            y = b.forward(y);
        }
        if (unfreeze.firstStage < HEAD) {
            lastMapShape = y.shape().dims();                // [N, 2048, h, w]
            pooledFeatures = Tensor.zeros(y.dim(0), y.dim(1));
            CpuOps.globalAvgPool(pooledFeatures, y);
        } else {
            pooledFeatures = y;
        }
        Tensor logits = graph.fc.forward(pooledFeatures);  // [N, classes]
        cached = true;
        return logits;
    }

    /**
     * Inference-mode logits [N, classes] from {@link #forwardFrozen}'s output: the trainable suffix with every
     * BatchNorm on its running statistics, caching nothing. Equals {@link #evalLogits} of the original input.
     */
    public Tensor evalFromFrozen(Tensor frozen) {
        requireFrozenShape(frozen);
        int first = unfreeze.firstStage;
        if (first == 0) {
            return graph.forward(frozen);
        }
        if (first == HEAD) {
            return graph.fc.forward(frozen);
        }
        Tensor y = frozen;
        List<List<Bottleneck>> stages = graph.stages();
        for (int s = first; s <= 4; s++) {
            for (Bottleneck b : stages.get(s - 1)) {
                y = b.forward(y);
            }
        }
        Tensor pooled = Tensor.zeros(y.dim(0), y.dim(1));
        CpuOps.globalAvgPool(pooled, y);
        return graph.fc.forward(pooled);
    }

    /**
     * The shape of one image's {@link #forwardFrozen} output for a {@code size} x {@code size} input:
     * {3, s, s} (all), {64, s/4, s/4} (layer1), ..., {2048} (fc), with the network's rounding of odd sizes.
     */
    public int[] frozenShape(int size) {
        int h1 = (size - 1) / 2 + 1;      // conv1: 7x7, stride 2, padding 3
        int h2 = (h1 - 1) / 2 + 1;        // max-pool 3x3, stride 2, padding 1; layer1 keeps it
        int h3 = (h2 - 1) / 2 + 1;        // layer2, stride 2
        int h4 = (h3 - 1) / 2 + 1;        // layer3, stride 2
        return switch (unfreeze.firstStage) {
            case 0 -> new int[] {3, size, size};
            case 1 -> new int[] {64, h2, h2};
            case 2 -> new int[] {256, h2, h2};
            case 3 -> new int[] {512, h3, h3};
            case 4 -> new int[] {1024, h4, h4};
            default -> new int[] {ResNet50Config.FEATURES};
        };
    }

    private void requireFrozenShape(Tensor t) {
        int[] channels = {3, 64, 256, 512, 1024, ResNet50Config.FEATURES};
        int first = unfreeze.firstStage;
        int c = channels[first];
        boolean ok = first == HEAD ? t.rank() == 2 && t.dim(1) == c : t.rank() == 4 && t.dim(1) == c;
        if (!ok) {
            throw new IllegalArgumentException("frozen features for unfreeze=" + unfreeze.id() + ": expected "
                    + (first == HEAD ? "[N, " + c + "]" : "[N, " + c + ", H, W]") + ", found " + t.shape());
        }
    }

    // ---------------------------------------------------------------- backward

    /**
     * Adds the gradients of the loss, given dLogits [N, classes] = ∂loss/∂logits of the last training forward,
     * to every trainable parameter's gradient, and releases the cached activations.
     */
    public void backward(Tensor dLogits) {
        if (!cached) {
            throw new IllegalStateException("backward needs a preceding forwardTrain or forwardFromFrozen");
        }
        dLogits.require("backward dLogits", pooledFeatures.dim(0), numClasses());
        boolean needFeatureGrad = unfreeze.firstStage < HEAD;
        Tensor dFeatures = needFeatureGrad ? Tensor.zeros(pooledFeatures.shape()) : null;
        CpuGrads.linearBackward(dFeatures, fcWeightGrad, fcBiasGrad, dLogits, pooledFeatures, graph.fc.weight);
        if (needFeatureGrad) {
            Tensor d = Tensor.zeros(lastMapShape);         // [N, 2048, h, w]
            CpuGrads.globalAvgPoolBackward(d, dFeatures);
            for (int i = blocks.size() - 1; i >= 0; i--) {
                // Nothing before the first trainable block needs its input's gradient.
                boolean needDx = i > 0 || stem != null;
                d = blocks.get(i).backward(d, needDx);
            }
            if (stem != null) {
                Tensor dAct = Tensor.zeros(stemActivation.shape());
                CpuGrads.maxPoolBackward(dAct, d, stemActivation, POOL_K, POOL_S, POOL_P);
                stem.backward(dAct, false);
            }
        }
        stemActivation = null;
        pooledFeatures = null;
        lastMapShape = null;
        cached = false;
    }

    private static Tensor maxPool(Tensor x) {
        Tensor y = Tensor.zeros(x.dim(0), x.dim(1), (x.dim(2) + 2 * POOL_P - POOL_K) / POOL_S + 1,
                (x.dim(3) + 2 * POOL_P - POOL_K) / POOL_S + 1);
        CpuOps.maxPool(y, x, POOL_K, POOL_S, POOL_P);
        return y;
    }

    // ---------------------------------------------------------------- trainable pieces

    /** A convolution followed by BatchNorm, optionally ReLU, with their gradients and training caches. */
    private final class ConvBn {
        final Conv2d conv;
        final BatchNorm2d bn;
        final boolean relu;
        final boolean batchStats;
        final Tensor dWeight, dGamma, dBeta;
        Tensor input;      // conv input, for the filter gradient
        Tensor preBn;      // conv output, for BatchNorm's backward
        Tensor output;     // ReLU output, its mask (null without ReLU)
        Tensor saveMean, saveInvStd;

        ConvBn(Conv2d conv, BatchNorm2d bn, boolean relu) {
            this.conv = conv;
            this.bn = bn;
            this.relu = relu;
            this.batchStats = trainBn;
            dWeight = grad(conv.name + ".weight", conv.weight);
            dGamma = grad(bn.name + ".weight", bn.weight);
            dBeta = grad(bn.name + ".bias", bn.bias);
        }

        Tensor forward(Tensor x) {
            input = x;
            preBn = conv.forward(x);
            Tensor y = Tensor.zeros(preBn.shape());
            if (batchStats) {
                saveMean = Tensor.zeros(bn.channels);
                saveInvStd = Tensor.zeros(bn.channels);
                CpuGrads.batchNormTrain(y, saveMean, saveInvStd, preBn, bn.weight, bn.bias, bn.runningMean,
                        bn.runningVar, CpuGrads.BN_MOMENTUM, BatchNorm2d.EPS);
                if (relu) {
                    CpuOps.relu(y, y);
                }
            } else {
                CpuOps.batchNorm(y, preBn, bn.weight, bn.bias, bn.runningMean, bn.runningVar, BatchNorm2d.EPS, relu);
            }
            output = relu ? y : null;
            return y;
        }

        /** dOut is consumed (overwritten); returns ∂loss/∂input, or null when not needed. */
        Tensor backward(Tensor dOut, boolean needDx) {
            if (relu) {
                CpuGrads.reluBackward(dOut, dOut, output);
            }
            Tensor dPre = dOut;                              // BatchNorm's backward may write over its dOut
            if (batchStats) {
                CpuGrads.batchNormTrainBackward(dPre, dGamma, dBeta, dOut, preBn, bn.weight, saveMean, saveInvStd);
            } else {
                CpuGrads.batchNormBackward(dPre, dGamma, dBeta, dOut, preBn, bn.weight, bn.runningMean, bn.runningVar,
                        BatchNorm2d.EPS);
            }
            CpuGrads.conv2dBackwardFilter(dWeight, dPre, input, conv.stride, conv.padding);
            Tensor dx = null;
            if (needDx) {
                dx = Tensor.zeros(input.shape());
                CpuGrads.conv2dBackwardData(dx, dPre, conv.weight, conv.stride, conv.padding);
            }
            input = preBn = output = saveMean = saveInvStd = null;
            return dx;
        }
    }

    /** A trainable bottleneck: three ConvBn units, the shortcut, the final add and ReLU. */
    private final class Block {
        final ConvBn u1, u2, u3, shortcut;
        Tensor output;     // after the final ReLU, its mask

        Block(Bottleneck b) {
            u1 = new ConvBn(b.conv1, b.bn1, true);
            u2 = new ConvBn(b.conv2, b.bn2, true);
            u3 = new ConvBn(b.conv3, b.bn3, false);
            shortcut = b.downsampleConv == null ? null : new ConvBn(b.downsampleConv, b.downsampleBn, false);
        }

        Tensor forward(Tensor x) {
            Tensor y = u3.forward(u2.forward(u1.forward(x)));
            Tensor s = shortcut == null ? x : shortcut.forward(x);
            CpuOps.add(y, y, s, true);
            output = y;
            return y;
        }

        Tensor backward(Tensor dOut, boolean needDx) {
            CpuGrads.reluBackward(dOut, dOut, output);
            output = null;
            // The sum feeds both branches; the main branch overwrites its copy, so the shortcut gets its own.
            Tensor dShortcut = shortcut != null || needDx ? dOut.copy() : null;
            Tensor dx = u1.backward(u2.backward(u3.backward(dOut, true), true), needDx);
            if (shortcut != null) {
                dShortcut = shortcut.backward(dShortcut, needDx);
            }
            if (needDx) {
                CpuGrads.accumulate(dx, dShortcut);
            }
            return dx;
        }
    }
}
