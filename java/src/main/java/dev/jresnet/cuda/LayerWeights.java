package dev.jresnet.cuda;

/**
 * One convolution's folded weights on the device: the filter ([K][C/groups][R][S] fp32 or [K][R][S][C/groups] fp16,
 * as the precision wants) and the bias ([K], same element type as the activations: cuDNN's FLOAT and PSEUDO_HALF
 * configurations), or no bias. Views of the model's weight arena; owned by the model, shared read-only by its
 * execution contexts.
 */
final class LayerWeights implements AutoCloseable {
    final NetworkPlan.ConvLayer layer;
    final GpuTensor filter;
    final GpuTensor bias;

    private LayerWeights(NetworkPlan.ConvLayer layer, GpuTensor filter, GpuTensor bias) {
        this.layer = layer;
        this.filter = filter;
        this.bias = bias;
    }

    /**
     * Input channels per group of {@code l}'s filter as stored: a layer reading the network input takes the stored
     * input's channel count ({@link CudaPrecision#inputChannels}), the extra ones with zero weights.
     */
    private static int storedChannels(NetworkPlan.ConvLayer l, CudaPrecision p, boolean readsInput) {
        int cg = l.c() / l.groups();
        return readsInput ? p.inputChannels(cg, l.groups()) : cg;
    }

    private static long filterElements(NetworkPlan.ConvLayer l, int cg) {
        return (long) l.k() * cg * l.r() * l.s();
    }

    /** Bytes this layer takes in an arena (filter and bias slices, aligned). */
    static long arenaBytes(NetworkPlan.ConvLayer l, CudaPrecision p, boolean readsInput) {
        long filter = filterElements(l, storedChannels(l, p, readsInput)) * p.element().bytes();
        long bias = l.bias() == null ? 0 : (long) l.k() * p.element().bytes();
        return DeviceArena.align(filter) + DeviceArena.align(bias);
    }

    /**
     * Uploads (synchronously, on {@code stream}) {@code l}'s filter and bias into {@code arena}; {@code readsInput}
     * says that the layer reads the network input (whose stored channels may be padded).
     */
    static LayerWeights upload(NetworkPlan.ConvLayer l, CudaPrecision p, boolean readsInput, DeviceArena arena,
                               Stream stream) {
        int cg = storedChannels(l, p, readsInput);
        DeviceBuffer filter = arena.slice(filterElements(l, cg) * p.element().bytes(), l.name() + ".weight (folded)");
        DeviceBuffer bias = l.bias() == null ? null : arena.slice((long) l.k() * p.element().bytes(),
                l.name() + ".bias (folded)");
        if (p.element() == ElementType.FP16) {
            filter.upload(stream, HalfLayouts.nchwToNhwcHalf(l.weight(), l.k(), l.c() / l.groups(), l.r(), l.s(), cg));
            if (bias != null) {
                bias.upload(stream, HalfLayouts.toHalf(l.bias()));
            }
        } else {
            filter.upload(stream, l.weight());
            if (bias != null) {
                bias.upload(stream, l.bias());
            }
        }
        return new LayerWeights(l, GpuTensor.view(filter, p.element(), p.layout(), l.k(), cg, l.r(), l.s()),
                bias == null ? null : GpuTensor.view(bias, p.element(), p.layout(), l.k()));
    }

    @Override
    public void close() {
        if (bias != null) {
            bias.close();
        }
        filter.close();
    }
}
