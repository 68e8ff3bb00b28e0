package dev.jresnet.dnnl;

import dev.jresnet.graph.CpuEngine;
import dev.jresnet.graph.CpuReference;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.StepListener;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_stream;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * The CPU engine's native fast path: the network's {@link NetworkSpec#fused() fused} description run by oneDNN
 * (Intel's deep-learning primitives, through JavaCPP's {@code org.bytedeco:dnnl} preset), one primitive per step
 * ({@link DnnlPlan}), planned once per input shape. Within 1e-5 relative L2 of the {@link CpuReference} (tested), not
 * bit for bit: oneDNN sums in its own order. Its threads are OpenMP's (OMP_NUM_THREADS, else one per core).
 *
 * <p>Refuses a non-finite input (IllegalArgumentException): oneDNN's ReLU and max pool turn a NaN into a number,
 * so it would not show in the logits as it does with the reference.
 *
 * <p>One pass at a time (oneDNN uses every core for one pass): concurrent callers wait their turn. Holds native
 * memory (the weights in oneDNN's layouts, about the size of the network's, and the activations of the last
 * {@value #PLANS} input shapes) until {@link #close()}; a call after close throws IllegalStateException.
 */
public final class DnnlInference implements CpuEngine {
    /** Input shapes whose plans are kept (batch 1 and 8, say, and a feature pass). */
    static final int PLANS = 3;

    private final NetworkSpec spec;
    private final Map<String, Tensor> tensors;
    private final dnnl_stream stream = new dnnl_stream();
    private final DnnlConstants constants;
    private final LinkedHashMap<List<Integer>, DnnlPlan> plans = new LinkedHashMap<>(8, 0.75f, true);
    private boolean closed;

    /** Throws IllegalStateException with {@link Dnnl#unavailableReason()} where oneDNN does not load. */
    public DnnlInference(Network net) {
        this(net.spec(), net.tensors());
    }

    /** Any description (fused here) with its tensors by name: for tests of single steps. */
    DnnlInference(NetworkSpec description, Map<String, Tensor> tensors) {
        this.spec = description.fused();
        this.tensors = tensors;
        Dnnl.check(dnnl_stream_create(stream, Dnnl.engine(), dnnl_stream_default_flags), "dnnl_stream_create",
                spec.name());
        this.constants = new DnnlConstants(Dnnl.engine());
    }

    /** Logits [N, classes] of a normalised batch x [N, 3, H, W] (H, W >= 32). */
    @Override
    public Tensor forward(Tensor x) {
        return run(x, spec.steps().size());
    }

    /** The pooled features [N, C] the classifier sees. */
    /** As {@link #forward(Tensor)}, telling {@code listener} each step's wall time (the kernel lab's profile). */
    @Override
    public Tensor forward(Tensor x, StepListener listener) {
        return run(x, spec.steps().size(), listener);
    }

    @Override
    public Tensor features(Tensor x) {
        return run(x, spec.steps().size() - 1);
    }

    /** The output of the fused description's steps [0, end), as {@code CpuInference.forwardTo}. */
    @Override
    public Tensor forwardTo(Tensor x, int end) {
        if (end < 1 || end > spec.steps().size()) {
            throw new IllegalArgumentException(spec.name() + ": no step " + (end - 1) + " to stop after (steps 0.."
                    + (spec.steps().size() - 1) + ")");
        }
        return run(x, end);
    }

    /** The description this runs. */
    @Override
    public NetworkSpec spec() {
        return spec;
    }

    /** "oneDNN 3.11.0, avx512_core_bf16 kernels". */
    @Override
    public String describe() {
        return Dnnl.describe();
    }

    /** What oneDNN chose for each step of a pass on this shape (plans it if need be): for the kernel lab and tests. */
    public synchronized List<String> implementations(int n, int h, int w) {
        return plan(n, h, w, spec.steps().size()).implementations();
    }

    private Tensor run(Tensor x, int end) {
        return run(x, end, null);
    }

    private synchronized Tensor run(Tensor x, int end, StepListener listener) {
        CpuReference.requireInput(spec, x);
        x.requireFinite(spec.name() + " input");  // oneDNN's ReLU and max pool would drop a NaN: refuse it here
        DnnlPlan p = plan(x.dim(0), x.dim(2), x.dim(3), end);
        return listener == null ? p.run(x) : p.run(x, listener);
    }

    private DnnlPlan plan(int n, int h, int w, int end) {
        if (closed) {
            throw new IllegalStateException(spec.name() + ": this oneDNN engine is closed");
        }
        List<Integer> key = List.of(n, h, w, end);
        DnnlPlan p = plans.get(key);
        if (p == null) {
            p = new DnnlPlan(spec, tensors, constants, n, h, w, end, stream);
            plans.put(key, p);
            if (plans.size() > PLANS) {
                var eldest = plans.entrySet().iterator().next();
                eldest.getValue().close();
                plans.remove(eldest.getKey());
            }
        }
        return p;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (DnnlPlan p : plans.values()) {
            p.close();
        }
        plans.clear();
        constants.close();
        dnnl_stream_destroy(stream);
    }
}
