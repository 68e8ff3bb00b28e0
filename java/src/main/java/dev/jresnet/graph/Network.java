package dev.jresnet.graph;

import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.nn.TensorVisitor;
import dev.jresnet.tensor.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An architecture's description bound to one tensor per name (zeros until loaded or initialised). The description
 * is immutable; the tensors' values are not: loaders fill them and trainers update them in place. An inference
 * model snapshots them ({@link CpuInference}, the CUDA engine) and never changes them afterwards.
 */
public final class Network {
    private final Architecture architecture;
    private final NetworkSpec spec;
    private final Map<String, Tensor> tensors;

    /** {@code architecture} with every tensor zero. */
    public Network(Architecture architecture) {
        this.architecture = architecture;
        this.spec = architecture.spec();
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (NetworkSpec.TensorSpec s : spec.tensors()) {
            t.put(s.name(), Tensor.zeros(s.shape()));
        }
        this.tensors = Collections.unmodifiableMap(t);
    }

    /** torchvision's initialisation from {@code seed} (see {@link WeightBinding#initialise}): untrained. */
    public static Network initialised(Architecture architecture, long seed) {
        Network n = new Network(architecture);
        WeightBinding.initialise(n, seed);
        return n;
    }

    public Architecture architecture() {
        return architecture;
    }

    public NetworkSpec spec() {
        return spec;
    }

    public int numClasses() {
        return architecture.numClasses();
    }

    /** The tensor called {@code name}; throws naming it when there is none. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException(architecture.id() + " has no tensor " + name);
        }
        return t;
    }

    /** Every tensor by torchvision name, in state_dict order (the map is read-only; the tensors are live). */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** Visits every tensor in state_dict order with its kind. */
    public void visitTensors(TensorVisitor visitor) {
        for (NetworkSpec.TensorSpec s : spec.tensors()) {
            visitor.visit(s.name(), tensors.get(s.name()), s.kind());
        }
    }

    /** Learnable parameters: 25,557,032 for resnet50 with 1000 classes. */
    public long parameterCount() {
        return spec.parameterCount();
    }

    /** Floating-point operations for one {@code h x w} image (a multiply-add counts 2). */
    public long flops(int h, int w) {
        return spec.flops(h, w);
    }

    /** An independent copy (same architecture, copied values). */
    public Network copy() {
        Network n = new Network(architecture);
        tensors.forEach((name, t) -> System.arraycopy(t.data(), 0, n.tensors.get(name).data(), 0, t.size()));
        return n;
    }

    /**
     * A copy with a new classifier for {@code classes} classes, initialised from {@code seed} as torchvision's
     * {@code nn.Linear} ({@link WeightBinding#initialiseLinear}); every other tensor copied. This network is
     * unchanged.
     */
    public Network withNewHead(int classes, long seed) {
        Network n = new Network(architecture.withClasses(classes));
        String fc = spec.classifier().name() + ".";
        tensors.forEach((name, t) -> {
            if (!name.startsWith(fc)) {
                System.arraycopy(t.data(), 0, n.tensors.get(name).data(), 0, t.size());
            }
        });
        WeightBinding.initialiseLinear(n, seed);
        return n;
    }

    @Override
    public String toString() {
        return "Network(" + architecture.describe() + ")";
    }
}
