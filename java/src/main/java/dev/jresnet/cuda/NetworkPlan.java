package dev.jresnet.cuda;

import dev.jresnet.graph.BnFolding;
import dev.jresnet.graph.Network;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.Dims;
import dev.jresnet.nn.GlobalAvgPool;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A network for the GPU, host side only: its {@link NetworkSpec#fused() fused} description with batch norm folded
 * into every convolution, the steps over numbered values (activations), and each value's place in a small set of
 * equal, reusable activation buffers planned from the values' lifetimes. The head (global average pool and the
 * classifier) runs after the steps on the last value.
 *
 * <p>Value 0 is the network input; it lives in its own input buffer (buffer -1). A fused convolution is
 * {@code out = relu(conv(in) + bias [+ residual])}. Where a residual is itself a convolution without ReLU read only
 * there (a projection shortcut), its folded bias is added to this convolution's bias (in double, rounded once), so
 * the projection is a plain convolution without bias or activation and every convolution with a bias ends in ReLU:
 * the fused cuDNN call never needs the identity activation.
 */
public final class NetworkPlan {
    /**
     * One convolution with folded weights [K][C/groups][R][S] fp32 and bias [K] (null: no bias, no activation),
     * square stride and padding.
     */
    public record ConvLayer(String name, int k, int c, int r, int s, int stride, int pad, int groups, float[] weight,
                            float[] bias) {}

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

    /** Max pooling with a square window: kernel, stride, pad. */
    public record MaxPool(int in, int out, int kernel, int stride, int pad) implements Step {
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

    /** The plan of {@code net} for {@code h x w} inputs (224 x 224 for ImageNet). */
    public static NetworkPlan of(Network net, int h, int w) {
        if (h < 32 || w < 32) {
            throw new IllegalArgumentException(net.architecture().id() + " input must be at least 32x32, got " + h
                    + "x" + w);
        }
        NetworkSpec spec = net.spec().fused();
        List<Dims> dims = spec.shapes(h, w);
        List<dev.jresnet.nn.Step> all = spec.steps();
        int head = all.size() - 2;
        if (head < 1 || !(all.get(head) instanceof GlobalAvgPool gap) || !(all.get(head + 1) instanceof Linear fc)
                || gap.in() != head) {
            throw new IllegalArgumentException(spec.name() + ": the GPU plan needs a network that ends in global "
                    + "average pooling of the last map and a linear classifier");
        }
        Map<String, Tensor> t = net.tensors();
        // A projection read only as a residual gives its bias to the convolution that reads it.
        Set<Integer> mergedInto = new HashSet<>();
        Map<Integer, Integer> residualOwner = new HashMap<>();
        for (int i = 0; i < head; i++) {
            if (all.get(i) instanceof ConvBn c && c.residual() > 0
                    && all.get(c.residual() - 1) instanceof ConvBn r && !r.relu() && r.residual() < 0
                    && spec.lastUse(r.out()) == i && readers(all, r.out()) == 1) {
                residualOwner.put(r.out(), i);
                mergedInto.add(i);
            }
        }
        List<ConvLayer> layers = new ArrayList<>();
        List<Step> steps = new ArrayList<>();
        for (int i = 0; i < head; i++) {
            dev.jresnet.nn.Step s = all.get(i);
            if (s instanceof ConvBn c) {
                BnFolding.Folded f = BnFolding.fold(c, t);
                float[] bias = f.bias();
                if (residualOwner.containsKey(c.out())) {
                    bias = null;                    // its shift goes to the reader's bias
                } else if (mergedInto.contains(i)) {
                    double[] sum = BnFolding.shifts(c, t);
                    double[] other = BnFolding.shifts((ConvBn) all.get(c.residual() - 1), t);
                    for (int k = 0; k < sum.length; k++) {
                        sum[k] += other[k];
                    }
                    bias = BnFolding.toFloat(sum);
                }
                if (bias != null && !c.relu()) {
                    throw new IllegalArgumentException(spec.name() + ": " + c.conv() + " has a bias but no ReLU, which "
                            + "the GPU plan does not run");
                }
                layers.add(new ConvLayer(c.conv(), c.outChannels(), c.inChannels(), c.kernel(), c.kernel(), c.stride(),
                        c.pad(), c.groups(), f.weight(), bias));
                steps.add(new Conv(layers.size() - 1, c.in(), c.out(), c.residual()));
            } else if (s instanceof dev.jresnet.nn.MaxPool m) {
                steps.add(new MaxPool(m.in(), m.out(), m.kernel(), m.stride(), m.pad()));
            } else {
                throw new IllegalArgumentException(spec.name() + ": the GPU plan runs convolutions and max pooling "
                        + "before the head, not " + s);
            }
        }
        return new NetworkPlan(layers, steps, dims.subList(0, head + 1), fc.inFeatures(), fc.outFeatures(),
                t.get(fc.weight()).data().clone(), t.get(fc.bias()).data().clone());
    }

    private static int readers(List<dev.jresnet.nn.Step> steps, int value) {
        int n = 0;
        for (dev.jresnet.nn.Step s : steps) {
            for (int v : s.inputs()) {
                n += v == value ? 1 : 0;
            }
        }
        return n;
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

    /** Indices in {@link #layers()} of the convolutions that read the network input (value 0). */
    public Set<Integer> inputReaders() {
        Set<Integer> out = new TreeSet<>();
        for (Step s : steps) {
            if (s instanceof Conv c && c.in() == 0) {
                out.add(c.layer());
            }
        }
        return Set.copyOf(out);
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
