package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.graph.CpuReference;
import dev.jresnet.graph.Network;
import dev.jresnet.nn.AddRelu;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.Dims;
import dev.jresnet.nn.GlobalAvgPool;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.MaxPool;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.nn.Step;
import dev.jresnet.nn.StepVisitor;
import dev.jresnet.nn.TensorVisitor;
import dev.jresnet.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fine-tuning on one device, written once for every device: it walks the network's description forward over the
 * steps and backward over them in reverse, calling a {@link TrainDevice} ({@link CpuTrainDevice}, or the GPU's twin).
 *
 * <p>The steps before the first trainable stage ({@link Unfreeze}) are the frozen prefix: they run in inference mode
 * and get no gradients, and the one value crossing the cut ({@link NetworkSpec#boundaryValue}) is what
 * {@link #frozenFeatures} returns, so a caller may cache it and train from it. The trainable suffix keeps what its
 * backward needs: every value it makes, each convolution's output before batch norm and, in training mode, batch
 * norm's saved mean and inverse standard deviation. All of these, and a gradient per value, live in named buffers
 * sized once per input shape (batch size, image or feature size) and reused until the shape changes.
 *
 * <p>Batch norm of trainable stages: with {@code trainBn} it runs in training mode (batch statistics, running
 * statistics updated with momentum 0.1), as {@code module.train()}; without it (the default) on its running
 * statistics, as {@code bn.eval()}. Either way gamma and beta train, as in PyTorch for a batch norm in eval mode
 * whose parameters require grad.
 *
 * <p>The device holds the live weights: on the CPU they are the {@link #network()}'s own tensors, on a GPU copies
 * that {@link #weights()} downloads. Not thread-safe (one training loop per instance); {@link #close()} frees the
 * device's memory and closes the device.
 */
public final class Trainer<T> implements TrainingBackend {
    private final Network net;
    private final NetworkSpec spec;
    private final TrainDevice<T> device;
    private final Unfreeze unfreeze;
    private final boolean trainBn;
    private final float labelSmoothing;
    private final float clipGradNorm;
    private final int first;
    private final int boundary;
    private final Map<String, T> tensors = new LinkedHashMap<>();
    private final List<Param<T>> params;
    private final Map<String, T> grads = new LinkedHashMap<>();
    private Buffers buffers;
    private boolean cached;

    /**
     * Trains {@code net} (whose tensors are the starting weights) on {@code device}, which the trainer then owns.
     * {@code labelSmoothing} in [0, 1); {@code clipGradNorm} 0 means no clipping.
     */
    public Trainer(Network net, TrainDevice<T> device, Unfreeze unfreeze, boolean trainBn, float labelSmoothing,
                   float clipGradNorm) {
        TrainingBackend.checkSettings(net, device, labelSmoothing, clipGradNorm);
        if (unfreeze == null) {
            throw new IllegalArgumentException("unfreeze must not be null");
        }
        this.net = net;
        this.spec = net.spec();
        this.device = device;
        this.unfreeze = unfreeze;
        this.trainBn = trainBn;
        this.labelSmoothing = labelSmoothing;
        this.clipGradNorm = clipGradNorm;
        this.first = spec.stage(unfreeze.firstStage()).firstStep();
        this.boundary = spec.boundaryValue(first);
        Set<String> trainable = trainableTensors(spec, first);
        List<Param<T>> ps = new ArrayList<>();
        try {
            for (NetworkSpec.TensorSpec t : spec.tensors()) {
                T value = device.adopt(net.tensor(t.name()), t.name());
                tensors.put(t.name(), value);
                if (t.kind() == TensorVisitor.Kind.PARAMETER && trainable.contains(t.name())) {
                    T g = device.allocate(t.name() + ".grad", t.shape().dims());
                    grads.put(t.name(), g);
                    ps.add(new Param<>(t.name(), t.shape(), value, g));
                }
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        this.params = List.copyOf(ps);
    }

    /** A trainer on the CPU reference ops with a Java optimizer. */
    public static Trainer<Tensor> cpu(Network net, Unfreeze unfreeze, boolean trainBn, Optimizer optimizer,
                                      float labelSmoothing, float clipGradNorm) {
        return new Trainer<>(net, new CpuTrainDevice(optimizer, null), unfreeze, trainBn, labelSmoothing, clipGradNorm);
    }

    /** The tensors the steps from {@code first} on read as parameters: convolutions, their batch norms, the classifier. */
    private static Set<String> trainableTensors(NetworkSpec spec, int first) {
        Set<String> out = new HashSet<>();
        for (Step s : spec.steps().subList(first, spec.steps().size())) {
            if (s instanceof ConvBn c) {
                out.addAll(List.of(c.weight(), c.gamma(), c.beta()));
            } else if (s instanceof Linear l) {
                out.addAll(List.of(l.weight(), l.bias()));
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- accessors

    /** The host model: live on the CPU; on a GPU current after {@link #weights()}. */
    public Network network() {
        return net;
    }

    public Unfreeze unfreeze() {
        return unfreeze;
    }

    public boolean trainBn() {
        return trainBn;
    }

    public int numClasses() {
        return net.numClasses();
    }

    public TrainDevice<T> device() {
        return device;
    }

    /** The trainable parameters with their gradients on the device, torchvision names in state_dict order. */
    public List<Param<T>> parameters() {
        return params;
    }

    /** Sets every gradient to zero; {@link #backward} adds to them, as PyTorch's {@code .grad}. */
    public void zeroGrad() {
        for (Param<T> p : params) {
            device.zero(p.grad());
        }
    }

    /** Host copies of the gradients by parameter name (on the CPU the live gradient tensors). */
    public Map<String, Tensor> gradients() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Param<T> p : params) {
            Tensor h = Tensor.zeros(p.shape());
            device.download(p.grad(), h);
            out.put(p.name(), h);
        }
        return out;
    }

    /**
     * The shape of one image's {@link #frozenFeatures} for a {@code size} x {@code size} input: {3, s, s} (all),
     * {64, s/4, s/4} (layer1), ..., {features} (fc), with the network's rounding of odd sizes.
     */
    public int[] frozenShape(int size) {
        Dims d = spec.shapes(size, size).get(boundary);
        return d.spatial() ? new int[] {d.c(), d.h(), d.w()} : new int[] {d.c()};
    }

    @Override
    public String description() {
        return device.description() + ", unfreeze " + unfreeze.id() + (trainBn ? ", train BatchNorm" : "");
    }

    // ---------------------------------------------------------------- TrainingBackend

    @Override
    public Tensor frozenFeatures(Tensor images) {
        requireImages(images);
        if (first == 0) {
            return images.copy();
        }
        Buffers b = buffers(images, false);
        run(b, 0, first, false);
        return download(b, boundary);
    }

    @Override
    public StepResult trainStep(Tensor input, boolean fromFrozen, int[] labels, float lr) {
        zeroGrad();
        Tensor logits = forwardTrain(input, fromFrozen);
        Buffers b = buffers;
        int out = spec.outputValue();
        float loss = device.softmaxCrossEntropy(b.grads[out], b.values[out], labels, labelSmoothing);
        if (!Float.isFinite(loss)) {
            cached = false;   // no update, so the caller can stop with the weights intact
            return new StepResult(loss, logits, Float.NaN);
        }
        backwardFromLoss();
        float norm = clipGradNorm > 0 ? device.clipGradNorm(params, clipGradNorm) : Float.NaN;
        device.step(params, lr);
        return new StepResult(loss, logits, norm);
    }

    @Override
    public Tensor evalLogits(Tensor input, boolean fromFrozen) {
        Buffers b = fromFrozen ? buffers(requireFrozen(input), true) : buffers(requireImages(input), false);
        run(b, b.from, spec.steps().size(), false);
        cached = false;
        return download(b, spec.outputValue());
    }

    /** Every model tensor (parameters and running statistics) by torchvision name: the host model, made current. */
    @Override
    public Map<String, Tensor> weights() {
        for (Map.Entry<String, T> e : tensors.entrySet()) {
            device.download(e.getValue(), net.tensor(e.getKey()));
        }
        return new LinkedHashMap<>(net.tensors());
    }

    @Override
    public void loadWeights(Map<String, Tensor> weights) {
        TrainingBackend.copyWeights(net.tensors(), weights);
        for (Map.Entry<String, T> e : tensors.entrySet()) {
            device.upload(e.getValue(), net.tensor(e.getKey()));
        }
    }

    @Override
    public Optimizer optimizer() {
        return device.optimizer(params);
    }

    // ---------------------------------------------------------------- forward and backward

    /**
     * Logits [N, classes] of images [N,3,H,W] ({@code fromFrozen} false) or of {@link #frozenFeatures} rows, the
     * trainable suffix in training mode, keeping what {@link #backward} needs.
     */
    public Tensor forwardTrain(Tensor input, boolean fromFrozen) {
        Buffers b = fromFrozen ? buffers(requireFrozen(input), true) : buffers(requireImages(input), false);
        run(b, b.from, spec.steps().size(), true);
        cached = true;
        return download(b, spec.outputValue());
    }

    /**
     * Adds the gradients of the loss, given dLogits [N, classes] = ∂loss/∂logits of the last {@link #forwardTrain},
     * to every trainable parameter's gradient.
     */
    public void backward(Tensor dLogits) {
        if (!cached || buffers == null) {
            throw new IllegalStateException("backward needs a preceding forwardTrain");
        }
        int out = spec.outputValue();
        dLogits.require("backward dLogits", buffers.n, numClasses());
        device.upload(buffers.grads[out], dLogits);
        backwardFromLoss();
    }

    private void backwardFromLoss() {
        if (!cached) {
            throw new IllegalStateException("backward needs a preceding training forward");
        }
        Buffers b = buffers;
        Arrays.fill(b.written, false);
        b.written[spec.outputValue()] = true;
        Backward walk = new Backward(b);
        for (int i = spec.steps().size() - 1; i >= first; i--) {
            walk.step = i;
            spec.steps().get(i).accept(walk);
        }
        cached = false;
    }

    private void run(Buffers b, int from, int to, boolean train) {
        Forward eval = new Forward(b, false);
        Forward training = train ? new Forward(b, true) : eval;
        for (int i = from; i < to; i++) {
            Forward w = i >= first ? training : eval;
            w.step = i;
            spec.steps().get(i).accept(w);
        }
    }

    private T w(String name) {
        return tensors.get(name);
    }

    private T g(String name) {
        return grads.get(name);
    }

    /** One step forward: inference mode, or training mode for the trainable suffix. */
    private final class Forward implements StepVisitor {
        final Buffers b;
        final boolean train;
        int step;

        Forward(Buffers b, boolean train) {
            this.b = b;
            this.train = train;
        }

        @Override
        public void convBn(ConvBn s) {
            T[] v = b.values;
            if (!train) {
                device.conv2d(v[s.out()], v[s.in()], w(s.weight()), s.stride(), s.pad(), s.groups());
                device.batchNorm(v[s.out()], v[s.out()], w(s.gamma()), w(s.beta()), w(s.runningMean()),
                        w(s.runningVar()), ConvBn.BN_EPS, s.relu());
                return;
            }
            T pre = b.pre[step];
            device.conv2d(pre, v[s.in()], w(s.weight()), s.stride(), s.pad(), s.groups());
            if (trainBn) {
                device.batchNormTrain(v[s.out()], b.saveMean[step], b.saveInvStd[step], pre, w(s.gamma()), w(s.beta()),
                        w(s.runningMean()), w(s.runningVar()), CpuGrads.BN_MOMENTUM, ConvBn.BN_EPS);
                if (s.relu()) {
                    device.relu(v[s.out()], v[s.out()]);
                }
            } else {
                device.batchNorm(v[s.out()], pre, w(s.gamma()), w(s.beta()), w(s.runningMean()), w(s.runningVar()),
                        ConvBn.BN_EPS, s.relu());
            }
        }

        @Override
        public void addRelu(AddRelu s) {
            device.add(b.values[s.out()], b.values[s.a()], b.values[s.b()], true);
        }

        @Override
        public void maxPool(MaxPool s) {
            device.maxPool(b.values[s.out()], b.values[s.in()], s.kernel(), s.stride(), s.pad());
        }

        @Override
        public void globalAvgPool(GlobalAvgPool s) {
            device.globalAvgPool(b.values[s.out()], b.values[s.in()]);
        }

        @Override
        public void linear(Linear s) {
            device.linear(b.values[s.out()], b.values[s.in()], w(s.weight()), w(s.bias()));
        }
    }

    /**
     * One step backward: from its output's gradient to its parameters' and inputs' gradients. An input that several
     * steps read gets the first contribution written and the others added ({@link Buffers#partial}); the input of
     * the trainable suffix gets none.
     */
    private final class Backward implements StepVisitor {
        final Buffers b;
        int step;

        Backward(Buffers b) {
            this.b = b;
        }

        private boolean needed(int v) {
            return v != boundary;
        }

        /** Where a contribution to value v's gradient goes: its gradient, or the scratch to add from. */
        private T target(int v) {
            return b.written[v] ? b.partial[v] : b.grads[v];
        }

        private void added(int v, T target) {
            if (b.written[v]) {
                device.accumulate(b.grads[v], target);
            }
            b.written[v] = true;
        }

        private void pass(int v, T grad) {
            if (!needed(v)) {
                return;
            }
            if (b.written[v]) {
                device.accumulate(b.grads[v], grad);
            } else {
                device.copy(b.grads[v], grad);
                b.written[v] = true;
            }
        }

        @Override
        public void convBn(ConvBn s) {
            T gOut = b.grads[s.out()];
            T[] v = b.values;
            if (s.relu()) {
                device.reluBackward(gOut, gOut, v[s.out()]);
            }
            // batch norm's input gradient overwrites its output gradient, which nothing else reads
            if (trainBn) {
                device.batchNormTrainBackward(gOut, g(s.gamma()), g(s.beta()), gOut, b.pre[step], w(s.gamma()),
                        b.saveMean[step], b.saveInvStd[step]);
            } else {
                device.batchNormBackward(gOut, g(s.gamma()), g(s.beta()), gOut, b.pre[step], w(s.gamma()),
                        w(s.runningMean()), w(s.runningVar()), ConvBn.BN_EPS);
            }
            device.conv2dBackwardFilter(g(s.weight()), gOut, v[s.in()], s.stride(), s.pad(), s.groups());
            if (needed(s.in())) {
                T t = target(s.in());
                device.conv2dBackwardData(t, gOut, w(s.weight()), s.stride(), s.pad(), s.groups());
                added(s.in(), t);
            }
        }

        @Override
        public void addRelu(AddRelu s) {
            T gOut = b.grads[s.out()];
            device.reluBackward(gOut, gOut, b.values[s.out()]);
            pass(s.a(), gOut);
            pass(s.b(), gOut);
        }

        @Override
        public void maxPool(MaxPool s) {
            if (needed(s.in())) {
                T t = target(s.in());
                device.maxPoolBackward(t, b.grads[s.out()], b.values[s.in()], b.values[s.out()], s.kernel(),
                        s.stride(), s.pad());
                added(s.in(), t);
            }
        }

        @Override
        public void globalAvgPool(GlobalAvgPool s) {
            if (needed(s.in())) {
                T t = target(s.in());
                device.globalAvgPoolBackward(t, b.grads[s.out()]);
                added(s.in(), t);
            }
        }

        @Override
        public void linear(Linear s) {
            T t = needed(s.in()) ? target(s.in()) : null;
            device.linearBackward(t, g(s.weight()), g(s.bias()), b.grads[s.out()], b.values[s.in()], w(s.weight()));
            if (t != null) {
                added(s.in(), t);
            }
        }
    }

    // ---------------------------------------------------------------- buffers

    /**
     * The device buffers for one input shape: {@code n} images entering at step {@code from} (0, or the first
     * trainable step for frozen features) with per-image shape {@code in}.
     */
    private final class Buffers {
        final int n, from;
        final Dims in;
        final List<Dims> dims;
        final T[] values, grads, partial, pre, saveMean, saveInvStd;
        final boolean[] written;

        @SuppressWarnings("unchecked")
        Buffers(int n, int from, Dims in) {
            this.n = n;
            this.from = from;
            this.in = in;
            int values = spec.valueCount(), steps = spec.steps().size();
            this.dims = from == 0 ? spec.shapes(in.h(), in.w()) : spec.shapes(from, in);
            this.values = (T[]) new Object[values];
            this.grads = (T[]) new Object[values];
            this.partial = (T[]) new Object[values];
            this.pre = (T[]) new Object[steps];
            this.saveMean = (T[]) new Object[steps];
            this.saveInvStd = (T[]) new Object[steps];
            this.written = new boolean[values];
            int[] readers = new int[values];
            for (Step s : spec.steps().subList(first, steps)) {
                for (int v : s.inputs()) {
                    readers[v]++;
                }
            }
            int start = from == 0 ? 0 : spec.boundaryValue(from);
            for (int v = start; v < values; v++) {
                if (dims.get(v) == null) {
                    continue;
                }
                int[] d = dims.get(v).withBatch(n);
                this.values[v] = device.allocate("value " + v, d);
                if (v - 1 >= first) {    // made by a trainable step
                    grads[v] = device.allocate("gradient of value " + v, d);
                    if (readers[v] > 1) {
                        partial[v] = device.allocate("partial gradient of value " + v, d);
                    }
                }
            }
            for (int i = first; i < steps; i++) {
                if (spec.steps().get(i) instanceof ConvBn c) {
                    pre[i] = device.allocate(c.conv() + " output", dims.get(c.out()).withBatch(n));
                    if (trainBn) {
                        saveMean[i] = device.allocate(c.bn() + " batch mean", c.outChannels());
                        saveInvStd[i] = device.allocate(c.bn() + " batch inverse std", c.outChannels());
                    }
                }
            }
        }

        boolean fits(int n, int from, Dims in) {
            return this.n == n && this.from == from && this.in.equals(in);
        }

        void free() {
            for (T[] all : List.of(values, grads, partial, pre, saveMean, saveInvStd)) {
                for (T t : all) {
                    if (t != null) {
                        device.free(t);
                    }
                }
            }
        }
    }

    /** The buffers for {@code input} entering at step 0 (images) or at the first trainable step (frozen features). */
    private Buffers buffers(Tensor input, boolean fromFrozen) {
        int from = fromFrozen ? first : 0;
        Dims in = input.rank() == 4 ? Dims.map(input.dim(1), input.dim(2), input.dim(3)) : Dims.vector(input.dim(1));
        if (buffers == null || !buffers.fits(input.dim(0), from, in)) {
            if (buffers != null) {
                buffers.free();
                buffers = null;
            }
            buffers = new Buffers(input.dim(0), from, in);
        }
        cached = false;
        device.upload(buffers.values[fromFrozen ? boundary : 0], input);
        return buffers;
    }

    private Tensor download(Buffers b, int value) {
        Tensor out = Tensor.zeros(shapeOf(b, value));
        device.download(b.values[value], out);
        return out;
    }

    private int[] shapeOf(Buffers b, int value) {
        return b.dims.get(value).withBatch(b.n);
    }

    private Tensor requireImages(Tensor x) {
        CpuReference.requireInput(spec, x);
        return x;
    }

    private Tensor requireFrozen(Tensor t) {
        if (first == 0) {
            return requireImages(t);
        }
        int c = spec.channels(boundary);
        boolean vector = !spec.spatial(boundary);
        boolean ok = vector ? t.rank() == 2 && t.dim(1) == c : t.rank() == 4 && t.dim(1) == c;
        if (!ok) {
            throw new IllegalArgumentException("frozen features for unfreeze=" + unfreeze.id() + ": expected "
                    + (vector ? "[N, " + c + "]" : "[N, " + c + ", H, W]") + ", found " + t.shape());
        }
        return t;
    }

    @Override
    public void close() {
        try {
            if (buffers != null) {
                buffers.free();
                buffers = null;
            }
            for (T g : grads.values()) {
                device.free(g);
            }
            for (T t : tensors.values()) {
                device.free(t);
            }
        } finally {
            device.close();
        }
    }
}
