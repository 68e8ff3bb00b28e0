package dev.jresnet.cuda;

import dev.jresnet.nn.Bottleneck;
import dev.jresnet.resnet.ResNet50Graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * ResNet-50 for the GPU, host side only: BatchNorm folded into every convolution, the forward pass as a list
 * of steps over numbered values (activations), and each value's place in a small set of equal, reusable
 * activation buffers planned from the values' lifetimes.
 *
 * <p>Value 0 is the network input; it lives in its own input buffer (buffer -1). A bottleneck is
 * {@code t1 = relu(conv1(x) + b1)}, {@code [s = convDs(x)]}, {@code t2 = relu(conv2(t1) + b2)},
 * {@code out = relu(conv3(t2) + b3 + z)} with {@code z = s} or {@code x}; the downsample's folded bias is
 * added to {@code b3} (in double) so that the projection is a plain convolution without bias or activation,
 * and every convolution with a bias ends in ReLU: the fused cuDNN call never needs the identity activation.
 */
public final class NetworkPlan {
    /** Per-image shape of a value. */
    public record Dims(int c, int h, int w) {
        public long elements() {
            return (long) c * h * w;
        }

        @Override
        public String toString() {
            return "[" + c + ", " + h + ", " + w + "]";
        }
    }

    /**
     * One convolution with folded weights [K][C][R][S] fp32 and bias [K] (null: no bias, no activation),
     * square stride and padding.
     */
    public record ConvLayer(String name, int k, int c, int r, int s, int stride, int pad, float[] weight, float[] bias) {
        public int outSize(int in) {
            return (in + 2 * pad - r) / stride + 1;
        }
    }

    /** A step of the forward pass over values. */
    public sealed interface Step permits Conv, MaxPool {
        /** Values read. */
        int[] inputs();

        /** Value written. */
        int out();
    }

    /** {@code out = relu(conv(in) + bias [+ residual])} when the layer has a bias, else {@code out = conv(in)}. */
    public record Conv(int layer, int in, int out, int residual) implements Step {
        @Override
        public int[] inputs() {
            return residual < 0 ? new int[] {in} : new int[] {in, residual};
        }
    }

    /** Max pooling with a square window. */
    public record MaxPool(int in, int out, int window, int pad, int stride) implements Step {
        @Override
        public int[] inputs() {
            return new int[] {in};
        }
    }

    private final List<ConvLayer> layers;
    private final List<Step> steps;
    private final List<Dims> values;
    private final int[] bufferOf;
    private final int bufferCount;
    private final int features;
    private final int classes;
    private final float[] fcWeight;
    private final float[] fcBias;

    private NetworkPlan(List<ConvLayer> layers, List<Step> steps, List<Dims> values, int features, int classes,
                        float[] fcWeight, float[] fcBias) {
        this.layers = List.copyOf(layers);
        this.steps = List.copyOf(steps);
        this.values = List.copyOf(values);
        this.features = features;
        this.classes = classes;
        this.fcWeight = fcWeight;
        this.fcBias = fcBias;
        this.bufferOf = assignBuffers(steps, values.size());
        this.bufferCount = Arrays.stream(bufferOf).max().orElse(-1) + 1;
    }

    /** The plan of {@code graph} for {@code h x w} inputs (224 x 224 for ImageNet). */
    public static NetworkPlan of(ResNet50Graph graph, int h, int w) {
        if (h < 32 || w < 32) {
            throw new IllegalArgumentException("ResNet-50 input must be at least 32x32, got " + h + "x" + w);
        }
        Builder b = new Builder(new Dims(3, h, w));
        BnFolding.Folded stem = BnFolding.fold(graph.conv1, graph.bn1);
        int x = b.conv(layer(graph.conv1, stem.weight(), stem.bias()), 0, -1);
        x = b.maxPool(x, 3, 1, 2);
        for (List<Bottleneck> stage : graph.stages()) {
            for (Bottleneck block : stage) {
                x = b.bottleneck(block, x);
            }
        }
        if (b.dims(x).c() != graph.fc.inFeatures) {
            throw new IllegalStateException("features " + b.dims(x) + " do not match fc " + graph.fc.inFeatures);
        }
        return new NetworkPlan(b.layers, b.steps, b.values, graph.fc.inFeatures, graph.fc.outFeatures,
                graph.fc.weight.data().clone(), graph.fc.bias.data().clone());
    }

    private static ConvLayer layer(dev.jresnet.nn.Conv2d conv, float[] weight, float[] bias) {
        return new ConvLayer(conv.name, conv.outChannels, conv.inChannels, conv.kernel, conv.kernel, conv.stride,
                conv.padding, weight, bias);
    }

    private static final class Builder {
        final List<ConvLayer> layers = new ArrayList<>();
        final List<Step> steps = new ArrayList<>();
        final List<Dims> values = new ArrayList<>();

        Builder(Dims input) {
            values.add(input);
        }

        Dims dims(int v) {
            return values.get(v);
        }

        int conv(ConvLayer l, int in, int residual) {
            Dims d = dims(in);
            if (d.c() != l.c()) {
                throw new IllegalStateException(l.name() + " expects " + l.c() + " channels, input is " + d);
            }
            Dims o = new Dims(l.k(), l.outSize(d.h()), l.outSize(d.w()));
            if (residual >= 0 && !dims(residual).equals(o)) {
                throw new IllegalStateException(l.name() + ": residual " + dims(residual) + " != output " + o);
            }
            layers.add(l);
            values.add(o);
            steps.add(new Conv(layers.size() - 1, in, values.size() - 1, residual));
            return values.size() - 1;
        }

        int maxPool(int in, int window, int pad, int stride) {
            Dims d = dims(in);
            values.add(new Dims(d.c(), (d.h() + 2 * pad - window) / stride + 1, (d.w() + 2 * pad - window) / stride + 1));
            steps.add(new MaxPool(in, values.size() - 1, window, pad, stride));
            return values.size() - 1;
        }

        int bottleneck(Bottleneck blk, int x) {
            BnFolding.Folded f1 = BnFolding.fold(blk.conv1, blk.bn1);
            BnFolding.Folded f2 = BnFolding.fold(blk.conv2, blk.bn2);
            BnFolding.Folded f3 = BnFolding.fold(blk.conv3, blk.bn3);
            int t1 = conv(layer(blk.conv1, f1.weight(), f1.bias()), x, -1);
            int shortcut = x;
            float[] b3 = f3.bias();
            if (blk.downsampleConv != null) {
                BnFolding.Folded ds = BnFolding.fold(blk.downsampleConv, blk.downsampleBn);
                shortcut = conv(layer(blk.downsampleConv, ds.weight(), null), x, -1);
                double[] sum = BnFolding.shifts(blk.bn3);
                double[] dsShift = BnFolding.shifts(blk.downsampleBn);
                for (int i = 0; i < sum.length; i++) {
                    sum[i] += dsShift[i];
                }
                b3 = BnFolding.toFloat(sum);
            }
            int t2 = conv(layer(blk.conv2, f2.weight(), f2.bias()), t1, -1);
            return conv(layer(blk.conv3, f3.weight(), b3), t2, shortcut);
        }
    }

    /**
     * Buffer per value from lifetimes: the output of step i takes a free buffer (never one of step i's inputs,
     * as no step runs in place); after step i, inputs read for the last time free theirs. The last value is read
     * by the head, after every step. Value 0 (the input) is buffer -1.
     */
    static int[] assignBuffers(List<Step> steps, int valueCount) {
        int[] lastUse = new int[valueCount];
        Arrays.fill(lastUse, -1);
        for (int i = 0; i < steps.size(); i++) {
            for (int v : steps.get(i).inputs()) {
                lastUse[v] = i;
            }
        }
        if (valueCount > 1) {
            lastUse[valueCount - 1] = steps.size(); // the head reads the final features
        }
        int[] buffer = new int[valueCount];
        Arrays.fill(buffer, -2);
        buffer[0] = -1;
        List<Integer> free = new ArrayList<>();
        int created = 0;
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            int b;
            if (free.isEmpty()) {
                b = created++;
            } else {
                b = free.remove(0);
            }
            buffer[s.out()] = b;
            for (int v : s.inputs()) {
                if (lastUse[v] == i && buffer[v] >= 0 && !free.contains(buffer[v])) {
                    free.add(buffer[v]);
                }
            }
            if (lastUse[s.out()] < 0) { // written, never read: its buffer is free again at once
                free.add(b);
            }
            free.sort(Integer::compare);
        }
        return buffer;
    }

    public List<ConvLayer> layers() {
        return layers;
    }

    public List<Step> steps() {
        return steps;
    }

    /** Per-image shape of each value; value 0 is the input. */
    public List<Dims> values() {
        return values;
    }

    /** The activation buffer of value {@code v} (-1: the input buffer). */
    public int bufferOf(int v) {
        return bufferOf[v];
    }

    /** How many activation buffers the plan needs. */
    public int bufferCount() {
        return bufferCount;
    }

    /** The largest per-image activation (elements), which every activation buffer holds per image. */
    public long maxActivationElements() {
        long m = 0;
        for (int v = 1; v < values.size(); v++) {
            m = Math.max(m, values.get(v).elements());
        }
        return m;
    }

    /** The value the head (global average pool, fc) reads. */
    public int featureValue() {
        return values.size() - 1;
    }

    public Dims input() {
        return values.get(0);
    }

    public int features() {
        return features;
    }

    public int classes() {
        return classes;
    }

    /** fc weight [classes][features], fp32, not folded (a copy is not made: do not modify). */
    public float[] fcWeight() {
        return fcWeight;
    }

    public float[] fcBias() {
        return fcBias;
    }
}
