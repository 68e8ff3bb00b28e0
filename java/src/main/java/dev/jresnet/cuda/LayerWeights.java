package dev.jresnet.cuda;

/**
 * One convolution's folded weights on the device, with their descriptors: the filter ([K][C][R][S] fp32 or
 * [K][R][S][C] fp16, as the precision wants) and the bias ([1, K, 1, 1], same element type as the
 * activations: cuDNN's FLOAT and PSEUDO_HALF configurations), or no bias. Owned by the model, shared
 * read-only by its execution contexts.
 */
final class LayerWeights implements AutoCloseable {
    final NetworkPlan.ConvLayer layer;
    final DeviceBuffer filter;
    final DeviceBuffer bias;
    final FilterDescriptor filterDesc;
    final TensorDescriptor biasDesc;

    private LayerWeights(NetworkPlan.ConvLayer layer, DeviceBuffer filter, DeviceBuffer bias,
                         FilterDescriptor filterDesc, TensorDescriptor biasDesc) {
        this.layer = layer;
        this.filter = filter;
        this.bias = bias;
        this.filterDesc = filterDesc;
        this.biasDesc = biasDesc;
    }

    /** Bytes this layer takes in an arena (filter and bias slices, aligned). */
    static long arenaBytes(NetworkPlan.ConvLayer l, InferencePrecision p) {
        long filter = (long) l.k() * l.c() * l.r() * l.s() * p.element().bytes();
        long bias = l.bias() == null ? 0 : (long) l.k() * p.element().bytes();
        return DeviceArena.align(filter) + DeviceArena.align(bias);
    }

    /** Uploads (synchronously, on {@code stream}) {@code l}'s filter and bias into {@code arena}. */
    static LayerWeights upload(NetworkPlan.ConvLayer l, InferencePrecision p, DeviceArena arena, Stream stream) {
        DeviceBuffer filter = arena.slice((long) l.k() * l.c() * l.r() * l.s() * p.element().bytes(), l.name() + ".weight (folded)");
        DeviceBuffer bias = l.bias() == null ? null : arena.slice((long) l.k() * p.element().bytes(), l.name() + ".bias (folded)");
        if (p.element() == Precision.FP16) {
            filter.upload(stream, BnFolding.kcrsToKrscHalf(l.weight(), l.k(), l.c(), l.r(), l.s()));
            if (bias != null) {
                bias.upload(stream, BnFolding.toHalf(l.bias()));
            }
        } else {
            filter.upload(stream, l.weight());
            if (bias != null) {
                bias.upload(stream, l.bias());
            }
        }
        FilterDescriptor fd = FilterDescriptor.create(p.layout(), p.element(), l.k(), l.c(), l.r(), l.s());
        TensorDescriptor bd = null;
        try {
            if (bias != null) {
                bd = TensorDescriptor.create(p.layout(), p.element(), 1, l.k(), 1, 1);
            }
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
        return new LayerWeights(l, filter, bias, fd, bd);
    }

    @Override
    public void close() {
        if (biasDesc != null) {
            biasDesc.close();
        }
        filterDesc.close();
    }
}
