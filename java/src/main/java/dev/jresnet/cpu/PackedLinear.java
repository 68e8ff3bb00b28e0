package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

/**
 * A fully connected layer for inference on immutable weights: {@code y = x · Wᵀ + b}, bitwise
 * {@link CpuOps#linear} on the same kernel. {@code CpuOps.linear} packs the weight [O, I] (8 MB for ResNet-50's
 * classifier) on every call, which at batch 1 cost more than the multiply itself; here it is packed once, in row
 * blocks, one per task of a call split over threads.
 *
 * <p>The weights are read when the object is made (later changes are not seen). Thread-safe: the transposed input
 * and output live in per-thread scratch.
 */
public final class PackedLinear {
    private static final Scratch X_T = new Scratch();
    private static final Scratch Y_T = new Scratch();

    private final GemmKernel kernel;
    private final int outFeatures, inFeatures;
    private final int rowsPerBlock;
    private final GemmKernel.PackedMatrix[] blocks;   // rows [b * rowsPerBlock, ...) of W
    private final float[] bias;                       // [O] or null

    private PackedLinear(GemmKernel kernel, Tensor weight, Tensor bias) {
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("linear weight: expected rank 2 [O,I], found " + weight.shape());
        }
        this.kernel = kernel;
        this.outFeatures = weight.dim(0);
        this.inFeatures = weight.dim(1);
        if (bias != null) {
            bias.require("linear bias", outFeatures);
        }
        this.bias = bias == null ? null : bias.data().clone();
        // Gemm.parallel's row split (N = batch < M): the blocks a call would pack, packed once.
        int parts = 2 * Parallel.threads();
        this.rowsPerBlock = Gemm.roundUp(Gemm.ceilDiv(outFeatures, parts), 16);
        int count = Gemm.ceilDiv(outFeatures, rowsPerBlock);
        this.blocks = new GemmKernel.PackedMatrix[count];
        float[] w = weight.data();
        for (int b = 0; b < count; b++) {
            int r0 = b * rowsPerBlock;
            blocks[b] = kernel.pack(Math.min(rowsPerBlock, outFeatures - r0), inFeatures, w, r0 * inFeatures,
                    inFeatures);
        }
    }

    /** The layer on the active kernel ({@link Gemm#kernel()}); bias may be null. */
    public static PackedLinear of(Tensor weight, Tensor bias) {
        return new PackedLinear(Gemm.kernel(), weight, bias);
    }

    /**
     * out [N, O] = in [N, I] · Wᵀ + b, bitwise {@link CpuOps#linear}: however a GEMM is split over threads (rows
     * here, rows or columns there), each element's sum runs over I in the kernel's one order.
     */
    public void forward(Tensor out, Tensor in) {
        if (in.rank() != 2 || in.dim(1) != inFeatures) {
            throw new IllegalArgumentException("linear input: expected [N, I=" + inFeatures + "], found " + in.shape());
        }
        int n = in.dim(0);
        out.require("linear output", n, outFeatures);
        float[] xT = X_T.get(inFeatures * n);          // [I, N]
        CpuOps.transpose(in.data(), n, inFeatures, xT);
        float[] yT = Y_T.get(outFeatures * n);         // [O, N]
        long flops = 2L * outFeatures * n * inFeatures;
        if (Parallel.threads() == 1 || flops < 2_000_000) {
            for (int b = 0; b < blocks.length; b++) {
                block(b, n, xT, yT);
            }
        } else {
            Parallel.forEach(blocks.length, b -> block(b, n, xT, yT));
        }
        CpuOps.addBiasTransposed(out.data(), yT, bias, n, outFeatures);
    }

    private void block(int b, int n, float[] xT, float[] yT) {
        kernel.gemm(blocks[b], n, xT, 0, n, yT, b * rowsPerBlock * n, n, false);
    }
}
