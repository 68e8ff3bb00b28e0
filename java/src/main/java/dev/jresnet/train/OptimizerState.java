package dev.jresnet.train;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The named tensors an optimizer keeps between steps ({@code "<param>.<suffix>"}) and its step count, with the
 * copying and checking that {@link Optimizer#state()} and {@link Optimizer#loadState} need.
 */
final class OptimizerState {
    static final String STEP_KEY = "step";

    private final String owner;
    private final Set<String> suffixes;
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private long steps;

    OptimizerState(String owner, Set<String> suffixes) {
        this.owner = owner;
        this.suffixes = Set.copyOf(suffixes);
    }

    /** The buffer of {@code p} under {@code suffix}, or null before its first update. */
    Tensor get(Parameter p, String suffix) {
        Tensor t = buffers.get(p.name() + "." + suffix);
        if (t != null && !t.shape().equals(p.value().shape())) {
            // Only reachable after loadState with another model's state: say which tensor, not just "index out of bounds".
            throw new IllegalArgumentException(owner + " state " + p.name() + "." + suffix + " has shape " + t.shape()
                    + " but parameter " + p.name() + " has shape " + p.value().shape());
        }
        return t;
    }

    Tensor getScalar(Parameter p, String suffix) {
        return buffers.get(p.name() + "." + suffix);
    }

    void put(Parameter p, String suffix, Tensor t) {
        buffers.put(p.name() + "." + suffix, t);
    }

    long steps() {
        return steps;
    }

    /** Counts a step call after checking the parameter names are unique, since state is keyed by name. */
    void beginStep(List<Parameter> params, float lr) {
        if (params == null) {
            throw new IllegalArgumentException(owner + ": params is null");
        }
        if (!Float.isFinite(lr) || lr < 0) {
            throw new IllegalArgumentException(owner + ": learning rate must be finite and non-negative, got " + lr);
        }
        Set<String> seen = new HashSet<>();
        for (Parameter p : params) {
            if (p == null) {
                throw new IllegalArgumentException(owner + ": params holds null");
            }
            if (!seen.add(p.name())) {
                throw new IllegalArgumentException(owner + ": parameter name " + p.name() + " appears twice");
            }
        }
        steps++;
    }

    Map<String, Tensor> snapshot() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : buffers.entrySet()) {
            out.put(e.getKey(), e.getValue().copy());
        }
        out.put(STEP_KEY, scalar(steps));
        return out;
    }

    void load(Map<String, Tensor> state) {
        if (state == null) {
            throw new IllegalArgumentException(owner + ": state is null");
        }
        Tensor stepTensor = state.get(STEP_KEY);
        if (stepTensor == null) {
            throw new IllegalArgumentException(owner + " state: key \"" + STEP_KEY + "\" (the step count) is missing");
        }
        long loadedSteps = count(STEP_KEY, stepTensor);
        Map<String, Tensor> loaded = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            String key = e.getKey();
            if (key.equals(STEP_KEY)) {
                continue;
            }
            int dot = key.lastIndexOf('.');
            if (dot <= 0 || !suffixes.contains(key.substring(dot + 1))) {
                throw new IllegalArgumentException(owner + " state: unexpected key \"" + key + "\"; expected \"step\" or "
                        + "\"<parameter>.<suffix>\" with a suffix in " + suffixes);
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException(owner + " state: \"" + key + "\" is null");
            }
            loaded.put(key, e.getValue().copy());
        }
        buffers.clear();
        buffers.putAll(loaded);
        steps = loadedSteps;
    }

    /** Checks that every parameter with a buffer under {@code suffix} also has one under each of {@code others}. */
    static void requireCompanions(String owner, Map<String, Tensor> state, String suffix, String... others) {
        for (String key : state.keySet()) {
            if (key.endsWith("." + suffix)) {
                String param = key.substring(0, key.length() - suffix.length() - 1);
                for (String o : others) {
                    if (!state.containsKey(param + "." + o)) {
                        throw new IllegalArgumentException(owner + " state: \"" + key + "\" is present but \""
                                + param + "." + o + "\" is missing");
                    }
                }
            }
        }
    }

    static Tensor scalar(double v) {
        return new Tensor(Shape.of(), new float[] {(float) v});
    }

    /** A step count stored as a one-element float tensor, checked to be a whole non-negative number. */
    long count(String key, Tensor t) {
        if (t == null || t.size() != 1) {
            throw new IllegalArgumentException(owner + " state: \"" + key + "\" must hold one value, found "
                    + (t == null ? "null" : t.shape().toString()));
        }
        float v = t.data()[0];
        if (!(v >= 0) || v != Math.rint(v) || v > (1 << 24)) {
            throw new IllegalArgumentException(owner + " state: \"" + key + "\" = " + v
                    + " is not a step count (a whole number in [0, 2^24])");
        }
        return (long) v;
    }
}
