package dev.jresnet.cuda.train;

import dev.jresnet.cuda.DeviceMemory;
import dev.jresnet.cuda.GpuTensor;
import dev.jresnet.cuda.Stream;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.AdamW;
import dev.jresnet.train.Optimizer;
import dev.jresnet.train.Param;
import dev.jresnet.train.Sgd;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link Sgd} and {@link AdamW} on the device: the same per-element float32 arithmetic (train.cu's
 * {@code sgd_step_f32} and {@code adamw_step_f32}, {@code __fmaf_rn} exactly where the Java code calls
 * {@link Math#fma}, no other contraction), the same host-side scalar rounding, the same per-parameter state and
 * step counts, so that a GPU step gives the same bits as the Java optimizer on the same gradients. State lives
 * in device memory (freed by {@link #close()}); {@link #state} and {@link #loadState} use the Java optimizers'
 * keys, so checkpoints move between CPU and GPU.
 */
public abstract sealed class GpuOptimizer implements AutoCloseable permits GpuOptimizer.GpuSgd, GpuOptimizer.GpuAdamW {
    static final String STEP_KEY = "step";

    /** Device buffers keyed "<param>.<suffix>". */
    final Map<String, DeviceMemory> buffers = new LinkedHashMap<>();
    /** Host copies of the per-parameter step counts (AdamW) keyed "<param>.step". */
    final Map<String, Long> counts = new LinkedHashMap<>();
    long steps;

    /** One update of every parameter with learning rate {@code lr}, queued on the ops' stream. */
    public abstract void step(GpuGrads ops, List<Param<GpuTensor>> params, float lr);

    /** Kind and hyperparameters, exactly as the Java optimizer describes itself. */
    public abstract String describe();

    /** The state suffixes this optimizer keeps per parameter. */
    abstract Set<String> suffixes();

    /** SGD as {@link Sgd#Sgd(float, float, boolean)} (same validation). */
    public static GpuOptimizer sgd(float momentum, float weightDecay, boolean nesterov) {
        return new GpuSgd(momentum, weightDecay, nesterov);
    }

    /** AdamW as {@link AdamW#AdamW(float, float, float, float)} (same validation). */
    public static GpuOptimizer adamw(float beta1, float beta2, float eps, float weightDecay) {
        return new GpuAdamW(beta1, beta2, eps, weightDecay);
    }

    private static final Pattern ARG = Pattern.compile("(\\w+)=([^,)]+)");

    /**
     * The device twin of a Java {@link Sgd} or {@link AdamW}, read from its {@link Optimizer#describe()} (Java's
     * float-to-string round-trips exactly), with its state ({@link Optimizer#state()}) uploaded.
     */
    public static GpuOptimizer from(Optimizer cpu) {
        String d = cpu.describe();
        Map<String, String> args = new LinkedHashMap<>();
        Matcher m = ARG.matcher(d);
        while (m.find()) {
            args.put(m.group(1), m.group(2).strip());
        }
        GpuOptimizer g;
        try {
            if (d.startsWith("sgd(")) {
                g = sgd(Float.parseFloat(args.get("momentum")), Float.parseFloat(args.get("weight_decay")),
                        Boolean.parseBoolean(args.get("nesterov")));
            } else if (d.startsWith("adamw(")) {
                g = adamw(Float.parseFloat(args.get("beta1")), Float.parseFloat(args.get("beta2")),
                        Float.parseFloat(args.get("eps")), Float.parseFloat(args.get("weight_decay")));
            } else {
                throw new IllegalArgumentException("no GPU version of optimizer " + d);
            }
        } catch (NullPointerException | NumberFormatException e) {
            throw new IllegalArgumentException("cannot read the hyperparameters of optimizer " + d, e);
        }
        if (!g.describe().equals(d)) {
            throw new IllegalStateException("GPU optimizer " + g.describe() + " does not reproduce " + d);
        }
        g.pendingState = cpu.state();
        return g;
    }

    /** A state to upload at the first step (from {@link #from}), when the parameters' shapes are known. */
    Map<String, Tensor> pendingState;

    static void checkLr(String owner, float lr, List<Param<GpuTensor>> params) {
        if (!Float.isFinite(lr) || lr < 0) {
            throw new IllegalArgumentException(owner + ": learning rate must be finite and non-negative, got " + lr);
        }
        Set<String> seen = new HashSet<>();
        for (Param<GpuTensor> p : params) {
            if (!seen.add(p.name())) {
                throw new IllegalArgumentException(owner + ": parameter name " + p.name() + " appears twice");
            }
        }
    }

    DeviceMemory buffer(GpuGrads ops, Param<GpuTensor> p, String suffix, boolean[] created) {
        String key = p.name() + "." + suffix;
        DeviceMemory b = buffers.get(key);
        if (b == null) {
            b = DeviceMemory.allocate(4L * p.shape().size(), "optimizer state " + key);
            b.buffer().fill(ops.stream(), 0);
            buffers.put(key, b);
            if (created != null) {
                created[0] = true;
            }
        } else if (b.bytes() != 4L * p.shape().size()) {
            throw new IllegalArgumentException("optimizer state " + key + " has " + b.bytes() / 4 + " values but "
                    + p.name() + " has " + p.shape().size());
        }
        return b;
    }

    /** Uploads a pending state (see {@link #from}) now that the parameters are known. */
    void applyPending(GpuGrads ops, List<Param<GpuTensor>> params) {
        if (pendingState == null) {
            return;
        }
        Map<String, Tensor> s = pendingState;
        pendingState = null;
        loadState(ops.stream(), s);
    }

    /**
     * A host copy of the state, keys as the Java optimizer's {@link Optimizer#state()}: "&lt;param&gt;.&lt;suffix&gt;" tensors
     * and "step" (the number of step calls); waits for the stream.
     */
    public Map<String, Tensor> state(Stream stream, Map<String, Shape> shapes) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (pendingState != null) {
            // Converted from a Java optimizer and not stepped yet: its state is still the one to upload.
            for (Map.Entry<String, Tensor> e : pendingState.entrySet()) {
                out.put(e.getKey(), e.getValue().copy());
            }
            return out;
        }
        for (Map.Entry<String, DeviceMemory> e : buffers.entrySet()) {
            String param = e.getKey().substring(0, e.getKey().lastIndexOf('.'));
            Shape shape = shapes.getOrDefault(param, Shape.of((int) (e.getValue().bytes() / 4)));
            float[] v = new float[shape.size()];
            e.getValue().buffer().download(stream, v);
            out.put(e.getKey(), new Tensor(shape, v));
        }
        for (Map.Entry<String, Long> e : counts.entrySet()) {
            out.put(e.getKey(), new Tensor(Shape.of(), new float[] {e.getValue()}));
        }
        out.put(STEP_KEY, new Tensor(Shape.of(), new float[] {steps}));
        return out;
    }

    /** Replaces the state with {@code state} (keys as {@link #state}); buffers are uploaded synchronously. */
    public void loadState(Stream stream, Map<String, Tensor> state) {
        Tensor st = state.get(STEP_KEY);
        if (st == null || st.size() != 1) {
            throw new IllegalArgumentException(describe() + " state: key \"step\" is missing");
        }
        for (String key : state.keySet()) {
            int dot = key.lastIndexOf('.');
            if (!key.equals(STEP_KEY) && (dot <= 0 || !suffixes().contains(key.substring(dot + 1)))) {
                throw new IllegalArgumentException(describe() + " state: unexpected key \"" + key + "\"; expected "
                        + "\"step\" or \"<parameter>.<suffix>\" with a suffix in " + suffixes());
            }
        }
        pendingState = null;
        closeBuffers();
        counts.clear();
        steps = (long) st.data()[0];
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            String key = e.getKey();
            if (key.equals(STEP_KEY)) {
                continue;
            }
            if (key.endsWith("." + STEP_KEY)) {
                counts.put(key, (long) e.getValue().data()[0]);
                continue;
            }
            DeviceMemory b = DeviceMemory.allocate(4L * e.getValue().size(), "optimizer state " + key);
            b.buffer().upload(stream, e.getValue().data());
            buffers.put(key, b);
        }
    }

    private void closeBuffers() {
        for (DeviceMemory b : buffers.values()) {
            b.close();
        }
        buffers.clear();
    }

    @Override
    public void close() {
        closeBuffers();
    }

    /** {@link Sgd} on the device. */
    public static final class GpuSgd extends GpuOptimizer {
        static final String MOMENTUM_BUFFER = "momentum_buffer";
        private final float momentum, weightDecay;
        private final boolean nesterov;
        private final String description;

        GpuSgd(float momentum, float weightDecay, boolean nesterov) {
            this.description = new Sgd(momentum, weightDecay, nesterov).describe(); // validates as the CPU does
            this.momentum = momentum;
            this.weightDecay = weightDecay;
            this.nesterov = nesterov;
        }

        @Override
        public void step(GpuGrads ops, List<Param<GpuTensor>> params, float lr) {
            checkLr("SGD", lr, params);
            applyPending(ops, params);
            steps++;
            float negLr = -lr;
            for (Param<GpuTensor> p : params) {
                boolean[] first = {false};
                DeviceMemory buf = momentum != 0 ? buffer(ops, p, MOMENTUM_BUFFER, first) : null;
                ops.kernels().sgdStep(ops.stream(), p.value().buffer(), p.grad().buffer(), buf == null ? null : buf.buffer(), p.shape().size(),
                        negLr, momentum, weightDecay, first[0], nesterov);
            }
        }

        @Override
        public String describe() {
            return description;
        }

        @Override
        Set<String> suffixes() {
            return Set.of(MOMENTUM_BUFFER);
        }
    }

    /** {@link AdamW} on the device. */
    public static final class GpuAdamW extends GpuOptimizer {
        static final String EXP_AVG = "exp_avg", EXP_AVG_SQ = "exp_avg_sq";
        private final float beta1, beta2, eps, weightDecay;
        private final String description;

        GpuAdamW(float beta1, float beta2, float eps, float weightDecay) {
            this.description = new AdamW(beta1, beta2, eps, weightDecay).describe(); // validates as the CPU does
            this.beta1 = beta1;
            this.beta2 = beta2;
            this.eps = eps;
            this.weightDecay = weightDecay;
        }

        @Override
        public void step(GpuGrads ops, List<Param<GpuTensor>> params, float lr) {
            checkLr("AdamW", lr, params);
            applyPending(ops, params);
            steps++;
            double lrD = lr;
            float decay = (float) (1 - lrD * weightDecay);
            float oneMinusBeta1 = (float) (1 - (double) beta1);
            float oneMinusBeta2 = (float) (1 - (double) beta2);
            for (Param<GpuTensor> p : params) {
                String stepKey = p.name() + "." + STEP_KEY;
                boolean[] created = {false};
                DeviceMemory m = buffer(ops, p, EXP_AVG, created);
                DeviceMemory v = buffer(ops, p, EXP_AVG_SQ, created);
                if (created[0]) {
                    counts.put(stepKey, 0L);
                }
                long step = counts.getOrDefault(stepKey, 0L) + 1;
                counts.put(stepKey, step);
                double bc1 = 1 - Math.pow(beta1, step);
                double bc2 = 1 - Math.pow(beta2, step);
                float negStepSize = (float) -(lrD / bc1);
                float bc2Sqrt = (float) Math.sqrt(bc2);
                ops.kernels().adamwStep(ops.stream(), p.value().buffer(), p.grad().buffer(), m.buffer(), v.buffer(), p.shape().size(), decay,
                        oneMinusBeta1, oneMinusBeta2, beta1, beta2, negStepSize, bc2Sqrt, eps);
            }
        }

        @Override
        public String describe() {
            return description;
        }

        @Override
        Set<String> suffixes() {
            return Set.of(EXP_AVG, EXP_AVG_SQ, STEP_KEY);
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "GpuOptimizer[%s, %d steps]", describe(), steps);
    }
}
