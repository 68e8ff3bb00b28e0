package dev.jresnet.nn;

import dev.jresnet.tensor.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * An immutable description of a network: its steps in execution order over numbered values (value 0 is the input
 * {@code [N, inputChannels, H, W]}), every tensor it reads under its torchvision name in state_dict order, and its
 * stages (named runs of steps, such as {@code layer3}). It holds no weights: executors bind it to tensors by name.
 * Every derived fact comes from here: shapes for an input size, FLOPs, parameter count, the values alive at a cut
 * (a frozen prefix ends there), and the fused form the fast paths run.
 */
public final class NetworkSpec {
    /** A tensor the network reads: a learnable parameter or a buffer (batch norm's running statistics). */
    public record TensorSpec(String name, Shape shape, TensorVisitor.Kind kind) {}

    /** A named run of steps starting at {@code firstStep}; it ends where the next stage starts. */
    public record Stage(String name, int firstStep) {}

    private final String name;
    private final int inputChannels;
    private final List<Step> steps;
    private final List<TensorSpec> tensors;
    private final List<Stage> stages;
    private final int[] channels;      // per value
    private final boolean[] spatial;   // per value
    private final int[] lastUse;       // per value: the last step reading it (steps.size() for the output)

    private NetworkSpec(String name, int inputChannels, List<Step> steps, List<TensorSpec> tensors, List<Stage> stages) {
        this.name = name;
        this.inputChannels = inputChannels;
        this.steps = List.copyOf(steps);
        this.tensors = List.copyOf(tensors);
        this.stages = List.copyOf(stages);
        int values = steps.size() + 1;
        channels = new int[values];
        spatial = new boolean[values];
        lastUse = new int[values];
        Arrays.fill(lastUse, -1);
        channels[0] = inputChannels;
        spatial[0] = true;
        Map<String, TensorSpec> byName = this.tensors.stream().collect(Collectors.toMap(TensorSpec::name,
                Function.identity()));
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            if (s.out() != i + 1) {
                throw new IllegalArgumentException(name + ": step " + i + " (" + s + ") must write value " + (i + 1));
            }
            for (int v : s.inputs()) {
                if (v < 0 || v > i) {
                    throw new IllegalArgumentException(name + ": step " + i + " (" + s + ") reads value " + v
                            + ", which is not made before it");
                }
                lastUse[v] = i;
            }
            check(s, byName);
        }
        lastUse[values - 1] = steps.size();
        for (int i = 0; i < stages.size(); i++) {
            int first = stages.get(i).firstStep();
            if (first < 0 || first > steps.size() || (i > 0 && first < stages.get(i - 1).firstStep())) {
                throw new IllegalArgumentException(name + ": stage " + stages.get(i) + " is out of order");
            }
        }
    }

    /** Checks a step's channels against its inputs and its tensors' shapes, and records its output. */
    private void check(Step s, Map<String, TensorSpec> byName) {
        int o = s.out();
        if (s instanceof ConvBn c) {
            requireMap(c.in(), c.inChannels(), c.conv());
            requireTensor(byName, c.weight(), c.outChannels(), c.groupChannels(), c.kernel(), c.kernel());
            for (String t : List.of(c.gamma(), c.beta(), c.runningMean(), c.runningVar())) {
                requireTensor(byName, t, c.outChannels());
            }
            if (c.residual() >= 0) {
                requireMap(c.residual(), c.outChannels(), c.conv() + " residual");
            }
            channels[o] = c.outChannels();
            spatial[o] = true;
        } else if (s instanceof AddRelu a) {
            requireMap(a.b(), channels[a.a()], "add of value " + a.a());
            requireMap(a.a(), channels[a.a()], "add");
            channels[o] = channels[a.a()];
            spatial[o] = true;
        } else if (s instanceof MaxPool m) {
            requireMap(m.in(), channels[m.in()], "max pool");
            channels[o] = channels[m.in()];
            spatial[o] = true;
        } else if (s instanceof GlobalAvgPool g) {
            requireMap(g.in(), channels[g.in()], "global average pool");
            channels[o] = channels[g.in()];
            spatial[o] = false;
        } else if (s instanceof Linear l) {
            if (spatial[l.in()] || channels[l.in()] != l.inFeatures()) {
                throw new IllegalArgumentException(name + ": " + l.name() + " expects [N, " + l.inFeatures()
                        + "], value " + l.in() + " is " + describe(l.in()));
            }
            requireTensor(byName, l.weight(), l.outFeatures(), l.inFeatures());
            requireTensor(byName, l.bias(), l.outFeatures());
            channels[o] = l.outFeatures();
            spatial[o] = false;
        }
    }

    private void requireMap(int v, int c, String what) {
        if (!spatial[v] || channels[v] != c) {
            throw new IllegalArgumentException(name + ": " + what + " expects [N, " + c + ", H, W], value " + v
                    + " is " + describe(v));
        }
    }

    private String describe(int v) {
        return spatial[v] ? "[N, " + channels[v] + ", H, W]" : "[N, " + channels[v] + "]";
    }

    private void requireTensor(Map<String, TensorSpec> byName, String t, int... dims) {
        TensorSpec ts = byName.get(t);
        if (ts == null || !ts.shape().equals(Shape.of(dims))) {
            throw new IllegalArgumentException(name + ": tensor " + t + " must be " + Shape.of(dims) + ", found "
                    + (ts == null ? "none" : ts.shape()));
        }
    }

    public static Builder builder(String name, int inputChannels) {
        return new Builder(name, inputChannels);
    }

    // ---------------------------------------------------------------- accessors

    /** The architecture's name, e.g. {@code resnet50}. */
    public String name() {
        return name;
    }

    public List<Step> steps() {
        return steps;
    }

    /** Every tensor, torchvision names in state_dict order. */
    public List<TensorSpec> tensors() {
        return tensors;
    }

    public List<Stage> stages() {
        return stages;
    }

    /** Values, the input included: one more than the steps. */
    public int valueCount() {
        return channels.length;
    }

    /** The value the network returns (the last step's). */
    public int outputValue() {
        return channels.length - 1;
    }

    public int inputChannels() {
        return inputChannels;
    }

    /** Channels (or features) of every image's value {@code v}. */
    public int channels(int v) {
        return channels[v];
    }

    /** Whether value {@code v} is a feature map [N, C, H, W] (else a vector [N, C]). */
    public boolean spatial(int v) {
        return spatial[v];
    }

    /** The last step that reads value {@code v}; {@code steps().size()} for the output, -1 for an unread value. */
    public int lastUse(int v) {
        return lastUse[v];
    }

    /** The classifier: the last step, when it is a {@link Linear}. */
    public Linear classifier() {
        if (!steps.isEmpty() && steps.get(steps.size() - 1) instanceof Linear l) {
            return l;
        }
        throw new IllegalStateException(name + " does not end in a linear classifier");
    }

    /** Outputs of the network. */
    public int numClasses() {
        return classifier().outFeatures();
    }

    /** The convolutions in step order. */
    public List<ConvBn> convolutions() {
        List<ConvBn> out = new ArrayList<>();
        for (Step s : steps) {
            if (s instanceof ConvBn c) {
                out.add(c);
            }
        }
        return out;
    }

    /** The stage called {@code stageName}; throws naming the stages there are. */
    public Stage stage(String stageName) {
        for (Stage s : stages) {
            if (s.name().equals(stageName)) {
                return s;
            }
        }
        throw new IllegalArgumentException(name + " has no stage \"" + stageName + "\" (stages: "
                + stages.stream().map(Stage::name).collect(Collectors.joining(", ")) + ")");
    }

    /**
     * The one value that crosses the cut before step {@code step}: the input of a run that starts there (a trainable
     * suffix, after a frozen prefix). Value 0 for step 0. Throws when more than one value made before the cut is
     * read after it, since then no single tensor could stand for the prefix.
     */
    public int boundaryValue(int step) {
        if (step < 0 || step > steps.size()) {
            throw new IllegalArgumentException(name + ": no cut before step " + step);
        }
        if (step == steps.size()) {
            return outputValue();
        }
        int found = -1;
        for (int v = 0; v <= step; v++) {
            if (lastUse[v] >= step) {
                if (found >= 0) {
                    throw new IllegalArgumentException(name + ": values " + found + " and " + v + " both cross the cut "
                            + "before step " + step + " (" + steps.get(step) + ")");
                }
                found = v;
            }
        }
        return found;
    }

    // ---------------------------------------------------------------- shapes and counts

    /**
     * The per-image shape of every value for an {@code h x w} input; throws for a non-positive size, or naming the
     * step whose output would be empty. (The ResNets' executors ask for at least 32 x 32, the size that halves five
     * times.)
     */
    public List<Dims> shapes(int h, int w) {
        if (h < 1 || w < 1) {
            throw new IllegalArgumentException(name + ": input size must be positive, got " + h + "x" + w);
        }
        return shapes(0, Dims.map(inputChannels, h, w));
    }

    /**
     * The per-image shapes of the values steps [first, end) make when the value crossing the cut before {@code first}
     * ({@link #boundaryValue}) has shape {@code in}; values made before the cut (other than that one) are null.
     */
    public List<Dims> shapes(int first, Dims in) {
        int boundary = boundaryValue(first);
        if (in.c() != channels[boundary] || in.spatial() != spatial[boundary]) {
            throw new IllegalArgumentException(name + ": value " + boundary + " is " + describe(boundary) + ", not "
                    + in);
        }
        Dims[] d = new Dims[channels.length];
        d[boundary] = in;
        for (Step s : steps.subList(first, steps.size())) {
            Dims x = d[s.inputs()[0]];
            Dims out;
            if (s instanceof ConvBn c) {
                out = Dims.map(c.outChannels(), c.outSize(x.h()), c.outSize(x.w()));
                if (c.residual() >= 0) {
                    requireSame(d[c.residual()], out, c.conv() + " residual", in);
                }
            } else if (s instanceof AddRelu a) {
                requireSame(d[a.b()], x, "add of values " + a.a() + " and " + a.b(), in);
                out = x;
            } else if (s instanceof MaxPool m) {
                out = Dims.map(x.c(), m.outSize(x.h()), m.outSize(x.w()));
            } else if (s instanceof GlobalAvgPool) {
                out = Dims.vector(x.c());
            } else {
                out = Dims.vector(((Linear) s).outFeatures());
            }
            if (out.h() < 1 || out.w() < 1) {
                throw new IllegalArgumentException(name + ": a " + in + " input is too small: " + s + " would output "
                        + out);
            }
            d[s.out()] = out;
        }
        return Collections.unmodifiableList(Arrays.asList(d));
    }

    private void requireSame(Dims a, Dims b, String what, Dims in) {
        if (!a.equals(b)) {
            throw new IllegalArgumentException(name + ": " + what + " get " + a + " and " + b + " for a " + in
                    + " input");
        }
    }

    /**
     * Floating-point operations for one {@code h x w} image, a multiply-add counting 2: convolutions and the
     * classifier (batch norm, ReLU, adds and pooling are left out, as torchvision's published GFLOPS leave them).
     */
    public long flops(int h, int w) {
        List<Dims> d = shapes(h, w);
        long f = 0;
        for (Step s : steps) {
            Dims o = d.get(s.out());
            if (s instanceof ConvBn c) {
                f += 2L * c.outChannels() * c.groupChannels() * c.kernel() * c.kernel() * o.h() * o.w();
            } else if (s instanceof Linear l) {
                f += 2L * l.inFeatures() * l.outFeatures();
            }
        }
        return f;
    }

    /** Learnable parameters (weights and biases, not running statistics). */
    public long parameterCount() {
        long n = 0;
        for (TensorSpec t : tensors) {
            if (t.kind() == TensorVisitor.Kind.PARAMETER) {
                n += t.shape().size();
            }
        }
        return n;
    }

    // ---------------------------------------------------------------- the fused form

    /**
     * This network as the fast paths run it: each ConvBn without ReLU whose only reader is an {@link AddRelu} is
     * merged into it, as a ConvBn with that add's other operand as residual and ReLU after the add, placed where the
     * add was (so the residual is ready); when both operands of an add are such convolutions (a block with a
     * projection shortcut), the shortcut (operand b) runs first, as a step of its own, and the branch takes the add.
     * Values are renumbered in the new order; tensors and stage names are kept. Computes the same function
     * (bit for bit on the CPU: the fused ops round after each step as the separate ones do).
     */
    public NetworkSpec fused() {
        int[] readers = new int[channels.length];
        for (Step s : steps) {
            for (int v : s.inputs()) {
                readers[v]++;
            }
        }
        ConvBn[] deferred = new ConvBn[channels.length];       // by output value, old numbering
        int[] renamed = new int[channels.length];
        Arrays.fill(renamed, -1);
        renamed[0] = 0;
        List<Step> out = new ArrayList<>();
        List<Stage> newStages = new ArrayList<>();
        int stageAt = 0;
        for (int i = 0; i < steps.size(); i++) {
            while (stageAt < stages.size() && stages.get(stageAt).firstStep() == i) {
                newStages.add(new Stage(stages.get(stageAt).name(), out.size()));
                stageAt++;
            }
            Step s = steps.get(i);
            if (s instanceof ConvBn c && !c.relu() && c.residual() < 0 && readers[c.out()] == 1
                    && readerOf(c.out(), i) instanceof AddRelu) {
                deferred[c.out()] = c;
                continue;
            }
            if (s instanceof AddRelu a && (deferred[a.a()] != null || deferred[a.b()] != null)) {
                ConvBn branch = deferred[a.a()] != null ? deferred[a.a()] : deferred[a.b()];
                int shortcut = branch == deferred[a.a()] ? a.b() : a.a();
                if (deferred[shortcut] != null) {
                    emit(deferred[shortcut], renamed, out);
                }
                ConvBn merged = branch.withResidual(shortcut, a.out());
                emit(merged, renamed, out);
                continue;
            }
            emit(s, renamed, out);
        }
        while (stageAt < stages.size()) {
            newStages.add(new Stage(stages.get(stageAt++).name(), out.size()));
        }
        return new NetworkSpec(name, inputChannels, out, tensors, newStages);
    }

    private Step readerOf(int value, int after) {
        for (int j = after + 1; j < steps.size(); j++) {
            for (int v : steps.get(j).inputs()) {
                if (v == value) {
                    return steps.get(j);
                }
            }
        }
        return null;
    }

    /** Appends {@code s} with its values renamed to the new numbering; its output becomes the next value. */
    private static void emit(Step s, int[] renamed, List<Step> out) {
        int o = out.size() + 1;
        Step r;
        if (s instanceof ConvBn c) {
            r = new ConvBn(c.conv(), c.bn(), renamed[c.in()], o, c.inChannels(), c.outChannels(), c.kernel(), c.stride(),
                    c.pad(), c.groups(), c.residual() < 0 ? -1 : renamed[c.residual()], c.relu());
        } else if (s instanceof AddRelu a) {
            r = new AddRelu(renamed[a.a()], renamed[a.b()], o);
        } else if (s instanceof MaxPool m) {
            r = new MaxPool(renamed[m.in()], o, m.kernel(), m.stride(), m.pad());
        } else if (s instanceof GlobalAvgPool g) {
            r = new GlobalAvgPool(renamed[g.in()], o);
        } else {
            Linear l = (Linear) s;
            r = new Linear(l.name(), renamed[l.in()], o, l.inFeatures(), l.outFeatures());
        }
        for (int v : r.inputs()) {
            if (v < 0) {
                throw new IllegalStateException("fusing " + s + ": an input was not made before it");
            }
        }
        renamed[s.out()] = o;
        out.add(r);
    }

    @Override
    public String toString() {
        return name + " (" + steps.size() + " steps, " + tensors.size() + " tensors)";
    }

    // ---------------------------------------------------------------- builder

    /**
     * Writes a description step by step: each call appends a step, registers its tensors (in call order, which is
     * the state_dict order when steps are added in the model's forward order) and returns the new value.
     */
    public static final class Builder {
        private final String name;
        private final int inputChannels;
        private final List<Step> steps = new ArrayList<>();
        private final List<TensorSpec> tensors = new ArrayList<>();
        private final List<Stage> stages = new ArrayList<>();
        private final List<Integer> channels = new ArrayList<>();

        private Builder(String name, int inputChannels) {
            this.name = name;
            this.inputChannels = inputChannels;
            channels.add(inputChannels);
        }

        /** The input value, {@code [N, inputChannels, H, W]}. */
        public int input() {
            return 0;
        }

        /** Starts a stage: the steps added from now on belong to it. */
        public Builder stage(String stageName) {
            stages.add(new Stage(stageName, steps.size()));
            return this;
        }

        /** Channels of value {@code v}. */
        public int channels(int v) {
            return channels.get(v);
        }

        /** Convolution {@code conv} (no bias), batch norm {@code bn}, then ReLU when {@code relu}. */
        public int convBn(String conv, String bn, int in, int outChannels, int kernel, int stride, int pad, int groups,
                          boolean relu) {
            int c = channels(in);
            ConvBn s = new ConvBn(conv, bn, in, next(), c, outChannels, kernel, stride, pad, groups, -1, relu);
            tensor(s.weight(), TensorVisitor.Kind.PARAMETER, outChannels, c / groups, kernel, kernel);
            tensor(s.gamma(), TensorVisitor.Kind.PARAMETER, outChannels);
            tensor(s.beta(), TensorVisitor.Kind.PARAMETER, outChannels);
            tensor(s.runningMean(), TensorVisitor.Kind.BUFFER, outChannels);
            tensor(s.runningVar(), TensorVisitor.Kind.BUFFER, outChannels);
            return add(s, outChannels);
        }

        /** {@code relu(a + b)}. */
        public int addRelu(int a, int b) {
            return add(new AddRelu(a, b, next()), channels(a));
        }

        public int maxPool(int in, int kernel, int stride, int pad) {
            return add(new MaxPool(in, next(), kernel, stride, pad), channels(in));
        }

        public int globalAvgPool(int in) {
            return add(new GlobalAvgPool(in, next()), channels(in));
        }

        /** A fully connected layer {@code layer} with weight and bias. */
        public int linear(String layer, int in, int outFeatures) {
            Linear s = new Linear(layer, in, next(), channels(in), outFeatures);
            tensor(s.weight(), TensorVisitor.Kind.PARAMETER, outFeatures, channels(in));
            tensor(s.bias(), TensorVisitor.Kind.PARAMETER, outFeatures);
            return add(s, outFeatures);
        }

        private int next() {
            return steps.size() + 1;
        }

        private int add(Step s, int outChannels) {
            steps.add(s);
            channels.add(outChannels);
            return s.out();
        }

        private void tensor(String tensorName, TensorVisitor.Kind kind, int... dims) {
            tensors.add(new TensorSpec(tensorName, Shape.of(dims), kind));
        }

        public NetworkSpec build() {
            return new NetworkSpec(name, inputChannels, steps, tensors, stages);
        }
    }
}
