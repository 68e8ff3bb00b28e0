package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

/**
 * A fully connected layer for inference on immutable weights: {@code y = x · Wᵀ + b}, bitwise
 * {@link CpuOps#linear} on the same kernel. {@code CpuOps.linear} packs the weight [O, I] (8 MB for ResNet-50's
 * classifier) on every call, which at batch 1 cost more than the multiply itself; here it is packed once, in row
 * blocks, one per task of a call split over threads.
 *
 * <p>With the Vector API and I a multiple of the vector's floats, it runs instead as a 1x1 convolution on a 1x1 map
 * whose "pixels" are the batch's rows: the direct convolution's register tiles ({@link DirectTiles#blocks}) over
 * weights packed [O/(OB·L)][I][OB·L], one task per OB·L outputs, which streams the weight once per call: at batch 1
 * the GEMM's 8x48 tile computed 47 of every 48 columns for nothing (ResNet-50's classifier 1.2-1.8 ms; see the
 * README's Performance). Each output is still one chain of fused multiply-adds over I in order, then the bias: bit for
 * bit the same.
 *
 * <p>The weights are read when the object is made (later changes are not seen). Thread-safe: the transposed input
 * and output live in per-thread scratch.
 */
public final class PackedLinear {
    private static final Scratch X_T = new Scratch();
    private static final Scratch Y_T = new Scratch();
    private static final Scratch TILE = new Scratch();

    private final GemmKernel kernel;
    private final int outFeatures, inFeatures;
    private final int rowsPerBlock;
    private final GemmKernel.PackedMatrix[] blocks;   // rows [b * rowsPerBlock, ...) of W
    private final float[] bias;                       // [O] or null
    private final float[] tiles;                      // [ceil(O/(OB·L))·OB][I][L], zero past O; or null: the GEMM

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
        if (DirectConv.available() && inFeatures % DirectTiles.L == 0) {
            this.tiles = packTiles(weight.data(), outFeatures, inFeatures, DirectTiles.BLOCKS * DirectTiles.L);
            this.rowsPerBlock = 0;
            this.blocks = null;
            return;
        }
        this.tiles = null;
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

    /**
     * w [O, I] → [ceil(O/tile)·tile/L][I][L], zero past O: a stream of weights per block of L outputs
     * (DirectTiles.blocks).
     */
    private static float[] packTiles(float[] w, int o, int i, int tile) {
        int l = DirectTiles.L, groups = (o + tile - 1) / tile;
        float[] p = new float[Math.multiplyExact(groups * tile, i)];
        for (int row = 0; row < o; row++) {
            for (int k = 0; k < i; k++) {
                p[(row / l * i + k) * l + row % l] = w[row * i + k];
            }
        }
        return p;
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
        if (tiles != null) {
            forwardTiles(out.data(), in.data(), n);
            return;
        }
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

    /** y [N, O] = x [N, I] · Wᵀ + b by the register tiles: one task per group of OB·L outputs, the rows in strips. */
    private void forwardTiles(float[] y, float[] x, int n) {
        int l = DirectTiles.L, ob = DirectTiles.BLOCKS, px = DirectTiles.PIXELS, tile = ob * l;
        int groups = (outFeatures + tile - 1) / tile;
        Parallel.forEach(groups, g -> {
            float[] acc = TILE.get(tile * px);            // [OB][pixels][L]: a strip's outputs
            int o0 = g * tile, o1 = Math.min(outFeatures, o0 + tile);
            for (int r0 = 0; r0 < n; r0 += px) {
                int width = Math.min(px, n - r0);
                // Channel block b of row r lies at r·I + b·L: rows are "pixels" I apart, blocks L apart.
                DirectTiles.blocks(ob, width, 0, inFeatures / l, x, r0 * inFeatures, l, inFeatures, tiles,
                        g * inFeatures * tile, inFeatures * l, acc, 0, px * l, true);
                for (int r = r0; r < r0 + width; r++) {
                    for (int o = o0; o < o1; o++) {
                        int t = o - o0;
                        float v = acc[(t / l * px + r - r0) * l + t % l];
                        y[r * outFeatures + o] = bias == null ? v : v + bias[o];
                    }
                }
            }
        });
    }

    private void block(int b, int n, float[] xT, float[] yT) {
        kernel.gemm(blocks[b], n, xT, 0, n, yT, b * rowsPerBlock * n, n, false);
    }
}
