package dev.jresnet.graph;

import dev.jresnet.cpu.Blocked;
import dev.jresnet.cpu.CpuOps;
import dev.jresnet.nn.AddRelu;
import dev.jresnet.nn.GlobalAvgPool;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.MaxPool;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.nn.Step;
import dev.jresnet.nn.StepVisitor;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.util.Map;

/**
 * A walk of a description on the CPU: values by number, each step's result a new tensor stored under its output
 * value, and the steps that take no weights to pack run with {@link CpuOps}. The two CPU executors differ only in
 * how they run a convolution ({@link CpuReference}: the separate reference ops; {@link CpuInference}: packed,
 * fused).
 */
abstract class CpuWalk implements StepVisitor {
    final NetworkSpec spec;
    final Map<String, Tensor> tensors;
    final Tensor[] values;
    /** The index of the step being run. */
    int step;
    /** Told of each step's time when not null (profiling); when null the walk reads no clock. */
    StepListener listener;
    /** While a step runs again for its warm time: the output it wrote the first time, which output() hands back. */
    Tensor reuse;

    CpuWalk(NetworkSpec spec, Map<String, Tensor> tensors) {
        this.spec = spec;
        this.tensors = tensors;
        this.values = new Tensor[spec.valueCount()];
    }

    /** Steps [first, end) on {@code input}, the value crossing the cut before {@code first}; the last step's output. */
    Tensor run(Tensor input, int first, int end) {
        int in = spec.boundaryValue(first);
        values[in] = input;
        for (int i = first; i < end; i++) {
            Step s = spec.steps().get(i);
            step = i;
            long t0 = listener == null ? 0 : System.nanoTime();
            s.accept(this);
            if (listener != null) {
                long t = System.nanoTime() - t0;
                listener.stepDone(i, s, logical(values[s.inputs()[0]]), logical(values[s.out()]), t);
                int repeats = listener.warmRepeats();
                if (repeats > 0) {
                    listener.stepWarm(i, rerun(s, repeats));
                }
            }
            for (int v : s.inputs()) {
                if (spec.lastUse(v) == i && v != in) {
                    release(values[v]);
                    values[v] = null;  // read for the last time: let it go
                }
            }
        }
        return values[spec.steps().get(end - 1).out()];
    }

    /** Runs step s again {@code repeats} times into its own output ({@link #reuse}); the median time in ns. */
    private long rerun(Step s, int repeats) {
        Tensor out = values[s.out()];
        reuse = out;
        try {
            return StepListener.medianNanos(repeats, () -> s.accept(this));
        } finally {
            reuse = null;
            values[s.out()] = out;
        }
    }

    /** The [N, C, H, W] shape of a value, whatever its layout. */
    static Shape logical(Tensor t) {
        return Blocked.is(t) ? Blocked.logical(t) : t.shape();
    }

    /**
     * The tensor a step writes its output into: new and zeroed here; the fast path's reuses arrays (every op below
     * overwrites its whole output).
     */
    Tensor output(Shape shape) {
        return reuse != null ? reuse : Tensor.zeros(shape);
    }

    /** Called with a value once no later step reads it. */
    void release(Tensor t) {}

    @Override
    public void addRelu(AddRelu s) {
        Tensor a = values[s.a()];
        Tensor y = output(a.shape());
        CpuOps.add(y, a, values[s.b()], true);
        values[s.out()] = y;
    }

    @Override
    public void maxPool(MaxPool s) {
        Tensor x = values[s.in()];
        Shape in = logical(x);
        int n = in.dim(0), c = in.dim(1), p = s.outSize(in.dim(2)), q = s.outSize(in.dim(3));
        // A pool keeps its input's layout.
        Tensor y = output(Blocked.is(x) ? Blocked.shape(n, c, p, q, x.dim(4)) : Shape.of(n, c, p, q));
        maxPool(y, x, s);
        values[s.out()] = y;
    }

    /** The max-pool op itself: the reference's; the fast path's is vectorised (bitwise the same), on either layout. */
    void maxPool(Tensor y, Tensor x, MaxPool s) {
        CpuOps.maxPool(y, x, s.kernel(), s.stride(), s.pad());
    }

    @Override
    public void globalAvgPool(GlobalAvgPool s) {
        Tensor x = values[s.in()];
        Shape in = logical(x);
        Tensor y = output(Shape.of(in.dim(0), in.dim(1)));
        globalAvgPool(y, x);
        values[s.out()] = y;
    }

    /** The global average pool op itself: the reference's; the fast path's also reads blocked activations. */
    void globalAvgPool(Tensor y, Tensor x) {
        CpuOps.globalAvgPool(y, x);
    }

    @Override
    public void linear(Linear s) {
        Tensor x = values[s.in()];
        Tensor y = output(Shape.of(x.dim(0), s.outFeatures()));
        linear(y, x, s);
        values[s.out()] = y;
    }

    /** The linear op itself: the reference's; the fast path's packs the weight once (bitwise the same). */
    void linear(Tensor y, Tensor x, Linear s) {
        CpuOps.linear(y, x, tensors.get(s.weight()), tensors.get(s.bias()));
    }
}
