package dev.jresnet.cuda;

import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Host-tensor access to {@link GpuOps} for the op-by-op GPU tests: one context and the kernels, ops per precision,
 * and device tensors made from host tensors (NCHW fp32 in, converted to the precision's layout and type) that live
 * until {@link #close()}.
 */
public final class GpuHarness implements AutoCloseable {
    public final CudaContext context;
    public final Kernels kernels;
    private final Map<Precision, GpuOps> ops = new EnumMap<>(Precision.class);
    private final List<GpuTensor> temps = new ArrayList<>();

    public GpuHarness() {
        context = CudaContext.open(0);
        kernels = Kernels.load(context);
    }

    public GpuOps ops(Precision p) {
        return ops.computeIfAbsent(p, q -> new GpuOps(context, kernels, q,
                new ConvAlgorithms(ConvAlgorithms.Search.HEURISTIC, 256L << 20)));
    }

    /** A device copy of {@code t} in {@code p}'s layout and element type (fp32 for rank < 4). */
    public GpuTensor up(Precision p, Tensor t) {
        GpuTensor g = ops(p).upload(t, "test tensor");
        temps.add(g);
        return g;
    }

    /** An fp32 device copy of {@code t} (whatever its rank). */
    public GpuTensor up(Tensor t) {
        return up(Precision.FP32, t);
    }

    /** A zeroed device tensor of {@code dims} in {@code p}'s layout and element type (fp32 for rank < 4). */
    public GpuTensor zeros(Precision p, int... dims) {
        CudaPrecision c = CudaPrecision.of(p);
        boolean map = dims.length == 4;
        GpuTensor g = GpuTensor.allocate("test output", map ? c.element() : ElementType.FP32,
                map ? c.layout() : Layout.NCHW, dims);
        g.buffer().fill(ops(p).stream(), 0);
        temps.add(g);
        return g;
    }

    public GpuTensor zeros(int... dims) {
        return zeros(Precision.FP32, dims);
    }

    /** The host NCHW fp32 copy of {@code g} (waits). */
    public Tensor down(Precision p, GpuTensor g) {
        return ops(p).download(g);
    }

    public Tensor down(GpuTensor g) {
        return down(Precision.FP32, g);
    }

    @Override
    public void close() {
        for (GpuTensor t : temps) {
            t.close();
        }
        ops.values().forEach(GpuOps::close);
        kernels.close();
        context.close();
    }
}
