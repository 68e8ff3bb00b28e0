package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 3x3, stride-1, padding-1 convolution followed by inference batch norm, optionally a residual add and ReLU, by
 * Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, 2015) on {@link Blocked} activations: each 2x2 block of
 * outputs takes 16 multiplications per input channel instead of 36 (an odd-sized map's last tiles, half outside it,
 * waste some: a 7x7 map runs 16 tiles for 49 outputs, 256 products per channel pair against the direct convolution's
 * 441).
 *
 * <p>For every tile of 2x2 outputs, the 4x4 input patch d becomes V = Bᵀ d B and the filter g becomes U = G g Gᵀ
 * (once, here); the 16 elements ξ of the product are then 16 independent products M_ξ = U_ξ · V_ξ over the input
 * channels — each a 1x1 convolution whose "pixels" are the tiles, run by the direct convolution's register tiles
 * ({@link DirectTiles}) — and the outputs are Y = Aᵀ M A, then batch norm, the residual and ReLU as
 * {@link DirectConv} applies them.
 *
 * <p>Not bit for bit the reference: the transforms round in other places. Measured on ResNet-50's layers with random
 * inputs, the relative L2 difference from the reference ops is 2.2-9.5e-7, and the error against float64 1.8-5.2e-7,
 * less than the reference ops' own (4.3-8.1e-7: one chain of C·9 terms against 16 of C); the tests bound both by
 * 1e-6 per layer ({@code WinogradConvTest}). Immutable and thread-safe.
 */
final class WinogradConv {
    private static final VectorSpecies<Float> S = DirectTiles.S;
    private static final int L = DirectTiles.L;
    static final int XI = 16;           // elements of a transformed 4x4 tile
    private static final int BLOCKS = DirectTiles.BLOCKS;
    private static final int PIXELS = DirectTiles.PIXELS;
    private static final int TILES = 4 * PIXELS; // tiles per task: 4 strips of the register tile...
    private static final int WIDE_TILES = 7 * PIXELS; // ...or 7, where a group's U does not fit L2 (tilesPerTask)

    private final int k, c;
    private final float[] packed;        // from packedAt: [XI][K/L][C][L], U_ξ per output block (DirectTiles.blocks)
    private final int packedAt;
    private final float[] scale, shift;  // batch norm as y * scale + shift, per output channel
    private final Scratch transformed = new Scratch(); // a task's V: [XI][C/L][tiles per task][L]
    private final Scratch products = new Scratch();    // a task's M: [XI][OB][tiles per task][L]
    private final Scratch edge = new Scratch();        // a tile's 4x4 patch with zeros past the map: [4][4][L]

    /**
     * weight [K, C, 3, 3]; K a multiple of the default tile's OB·L, C of L. Its transformed weights go to
     * {@code packed} from {@code packedAt} ({@link #packedFloats} of them).
     */
    WinogradConv(float[] weight, int k, int c, float[] scale, float[] shift, float[] packed, int packedAt) {
        this.k = k;
        this.c = c;
        this.scale = scale;
        this.shift = shift;
        this.packed = packed;
        this.packedAt = packedAt;
        transform(weight, k, c, packed, packedAt);
    }

    /** The floats of the transformed weights U [XI][K][C]: 16 per 9 of the weight's. */
    static int packedFloats(int k, int c) {
        return Math.multiplyExact(k * c, XI);
    }

    /** The most input channels run here: ResNet's layer1-3 (64-256), not layer4 (512). */
    static final int MAX_CHANNELS = 256;

    /**
     * Whether a convolution with this kernel, stride, padding and input channels runs here (any input size). Not at
     * 512 channels: there a block of tiles uses each transformed weight (16 per 9 of the direct convolution's,
     * 2 MB per group of output channels) only 16-28 times, against the direct convolution's 49 per image of layer4,
     * and with it on layer4 too the whole pass measured 0.99-1.09x at batch 1 and 0.89x at batch 8 (against 1-3 only).
     */
    static boolean supports(int r, int s, int stride, int padding, int c) {
        return r == 3 && s == 3 && stride == 1 && padding == 1 && c <= MAX_CHANNELS;
    }

    /**
     * U = G g Gᵀ for every (k, c), computed in double and rounded once: g [K, C, 3, 3] to U
     * [XI][K/L][C][L], a stream per output block for the register tiles (no second copy on the way: a layer3's U is
     * 4 MB).
     */
    private static void transform(float[] weight, int k, int c, float[] u, int at) {
        double[][] gm = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
        double[][] t = new double[4][3]; // G g
        for (int o = 0; o < k; o++) {
            for (int ch = 0; ch < c; ch++) {
                int from = (o * c + ch) * 9; // tap (m, j) at + m·3 + j
                for (int i = 0; i < 4; i++) {
                    for (int j = 0; j < 3; j++) {
                        double v = 0;
                        for (int m = 0; m < 3; m++) {
                            v += gm[i][m] * weight[from + m * 3 + j];
                        }
                        t[i][j] = v;
                    }
                }
                for (int i = 0; i < 4; i++) {
                    for (int j = 0; j < 4; j++) {
                        double v = 0;
                        for (int m = 0; m < 3; m++) {
                            v += t[i][m] * gm[j][m];
                        }
                        u[at + (((i * 4 + j) * (k / L) + o / L) * c + ch) * L + o % L] = (float) v;
                    }
                }
            }
        }
    }

    /**
     * Tiles per task for {@code tiles} tiles of a layer of {@code c} input channels on an L2 of {@code l2} bytes:
     * 4 strips of the register tile, or 7 where a group's transformed weights (XI x C x OB·L floats: 1 MB for
     * layer3's 256 channels on 512-bit vectors) and a task's transformed inputs do not fit L2 together. Each task
     * streams its group's U once: with 4 strips that was 14 times per layer3 convolution at batch 8, from L3, and
     * twice at batch 1. Layer3's 3x3 alone 1.18-1.28x faster at batch 8 and 1.25x at batch 1 (7 strips, AMD EPYC
     * with AVX-512, 1 MB of L2; layer1's and layer2's, whose U fits, 0.96-1.0x with 7); ResNet-50 1.018x at batch 1,
     * 1.004-1.015x at batch 8 (this build and the one before in one JVM, alternating). The blocks are balanced (392
     * tiles: 8 of 49) and whole strips. The same sums in the same order whatever the block: bit for bit.
     */
    static int tilesPerTask(int tiles, int c, long l2) {
        long u = 4L * XI * c * BLOCKS * L, v = 4L * XI * c * TILES;
        int most = u + v <= l2 ? TILES : WIDE_TILES;
        int blocks = (tiles + most - 1) / most, even = (tiles + blocks - 1) / blocks;
        return (even + PIXELS - 1) / PIXELS * PIXELS;
    }

    /**
     * out = relu?(bn(conv3x3(in)) + residual?) on blocked tensors in [N, C/L, H+2, W+2, L], out and residual
     * [N, K/L, H+2, W+2, L]. An odd H or W ends in tiles half outside the map: their inputs there are zeros (the
     * padding), their outputs there are not written (out's border stays zero). Steps of {@code chunk} input channels
     * (a multiple of L) keep their weights in L1.
     */
    void forward(Tensor out, Tensor in, Tensor residual, boolean relu, int chunk) {
        int h = in.dim(2) - 2, w = in.dim(3) - 2, tiles = in.dim(0) * ((h + 1) / 2) * ((w + 1) / 2);
        forward(out, in, residual, relu, chunk, tilesPerTask(tiles, c, VectorGemm.Caches.L2));
    }

    /** As {@link #forward(Tensor, Tensor, Tensor, boolean, int)}, {@code perTask} tiles a task (tests). */
    void forward(Tensor out, Tensor in, Tensor residual, boolean relu, int chunk, int perTask) {
        int n = in.dim(0), h = in.dim(2) - 2, w = in.dim(3) - 2;
        // Tiles are numbered across the batch: a small map's block of tiles spans images, and so each weight
        // streamed to the register tiles serves up to perTask of them (a 7x7 map has 16 tiles per image).
        int tw = (w + 1) / 2, tilesPerImage = (h + 1) / 2 * tw, tiles = n * tilesPerImage;
        int blocksOfTiles = (tiles + perTask - 1) / perTask;
        float[] x = in.data(), y = out.data(), res = residual == null ? null : residual.data();
        int row = (w + 2) * L, plane = (h + 2) * row, image = c / L * plane;
        int groups = k / (BLOCKS * L), tile = BLOCKS * L;
        float lo = relu ? 0f : Float.NEGATIVE_INFINITY;
        int outImage = k / L * plane; // out has in's height and width: the same rows and planes
        int vXi = c * perTask, mXi = BLOCKS * perTask * L; // one ξ's transformed inputs in V, products in M
        // One task per (group of OB·L output channels, block of perTask tiles), consecutive tasks sharing the
        // group's weights. Each transforms its tiles' inputs itself: that is about 6 % of its products' work, and
        // keeps V in its own cache instead of a shared array of 16/4 the input's size (26 MB for layer1 at batch 8).
        Parallel.forEach(groups * blocksOfTiles, item -> {
            int blk = item % blocksOfTiles, g = item / blocksOfTiles;
            int count = Math.min(perTask, tiles - blk * perTask);
            float[] v = transformed.get(XI * vXi), m = products.get(XI * mXi);
            for (int cb = 0; cb < c / L; cb++) {
                for (int b = 0; b < count; b++) {
                    int tg = blk * perTask + b, img = tg / tilesPerImage, t = tg % tilesPerImage;
                    int ty = t / tw, tx = t % tw;
                    int at = img * image + cb * plane + ty * 2 * row + tx * 2 * L;
                    if (2 * ty + 2 <= h && 2 * tx + 2 <= w) {
                        inputTile(x, at, row, v, cb * perTask * L + b * L, vXi);
                    } else {
                        // its 4x4 patch would read past the padded map: a copy with zeros there
                        float[] patch = edge.get(XI * L);
                        int rows = Math.min(4, h + 2 - 2 * ty), cols = Math.min(4, w + 2 - 2 * tx);
                        java.util.Arrays.fill(patch, 0, XI * L, 0f);
                        for (int i = 0; i < rows; i++) {
                            System.arraycopy(x, at + i * row, patch, i * 4 * L, cols * L);
                        }
                        inputTile(patch, 0, 4 * L, v, cb * perTask * L + b * L, vXi);
                    }
                }
            }
            for (int e = 0; e < XI; e++) {
                int wBase = packedAt + (e * groups + g) * c * tile;
                for (int t0 = 0; t0 < c; t0 += chunk) {
                    int t1 = Math.min(c, t0 + chunk);
                    for (int b = 0; b < count; b += PIXELS) {
                        DirectTiles.blocks(BLOCKS, Math.min(PIXELS, count - b), t0 / L, t1 / L, v, e * vXi + b * L,
                                perTask * L, L, packed, wBase + t0 * L, c * L, m, e * mXi + b * L, perTask * L,
                                t0 == 0);
                    }
                }
            }
            for (int o = 0; o < BLOCKS; o++) {
                int ch = g * tile + o * L;
                for (int b = 0; b < count; b++) {
                    int tg = blk * perTask + b, img = tg / tilesPerImage, t = tg % tilesPerImage;
                    int ty = t / tw, tx = t % tw;
                    int at = img * outImage + (g * BLOCKS + o) * plane + (ty * 2 + 1) * row + (tx * 2 + 1) * L;
                    outputTile(m, o * perTask * L + b * L, mXi, y, at, row, scale, shift, ch, res, lo,
                            2 * ty + 2 <= h, 2 * tx + 2 <= w);
                }
            }
        });
    }

    /** Bᵀ's rows as (row a, row b, a + b or a - b): d0 - d2, d1 + d2, d2 - d1, d1 - d3. */
    private static final int[] B_A = {0, 1, 2, 1}, B_B = {2, 2, 1, 3};

    /**
     * V = Bᵀ d B of the 4x4 patch of L-channel vectors at x[at] (rows {@code row} apart), to v[at + ξ·stride]. A loop
     * over Bᵀ's rows, each of its 4 values (one row of Bᵀ d) then along the row: written out as one block of 16 loads
     * and stores, C2 stopped inlining the Vector API's last stores (too many nodes) and ran them on the API's Java
     * fallback, which allocates; a profile showed that in every Winograd layer.
     */
    private static void inputTile(float[] x, int at, int row, float[] v, int vAt, int stride) {
        for (int i = 0; i < 4; i++) {
            int a = at + B_A[i] * row, b = at + B_B[i] * row;
            boolean plus = i == 1;
            FloatVector a0 = FloatVector.fromArray(S, x, a), b0 = FloatVector.fromArray(S, x, b);
            FloatVector a1 = FloatVector.fromArray(S, x, a + L), b1 = FloatVector.fromArray(S, x, b + L);
            FloatVector a2 = FloatVector.fromArray(S, x, a + 2 * L), b2 = FloatVector.fromArray(S, x, b + 2 * L);
            FloatVector a3 = FloatVector.fromArray(S, x, a + 3 * L), b3 = FloatVector.fromArray(S, x, b + 3 * L);
            FloatVector t0 = plus ? a0.add(b0) : a0.sub(b0), t1 = plus ? a1.add(b1) : a1.sub(b1);
            FloatVector t2 = plus ? a2.add(b2) : a2.sub(b2), t3 = plus ? a3.add(b3) : a3.sub(b3);
            int o = vAt + 4 * i * stride;
            t0.sub(t2).intoArray(v, o);
            t1.add(t2).intoArray(v, o + stride);
            t2.sub(t1).intoArray(v, o + 2 * stride);
            t1.sub(t3).intoArray(v, o + 3 * stride);
        }
    }

    /**
     * Y = Aᵀ M A of one tile's 16 products (m[at + ξ·stride]), then batch norm (channels {@code ch}..), the residual
     * and ReLU (max with {@code lo}), to the 2x2 outputs at y[yAt] (rows {@code row} apart); the second row and
     * column only where they lie in the map. A loop over Aᵀ's two rows (m0 + m1 + m2, m1 - m2 - m3), for the reason
     * inputTile is one; no vector crosses a call (a vector argument of a method C2 does not inline is boxed).
     */
    private static void outputTile(float[] m, int at, int stride, float[] y, int yAt, int row, float[] scale,
                                   float[] shift, int ch, float[] res, float lo, boolean row2, boolean col2) {
        FloatVector sc = FloatVector.fromArray(S, scale, ch), sh = FloatVector.fromArray(S, shift, ch);
        for (int r = 0; r < (row2 ? 2 : 1); r++) {
            // row r of Aᵀ M, column j: rows r, r+1, r+2 of M, added (r = 0) or as m1 - m2 - m3 (r = 1)
            int m0 = at + 4 * r * stride, m1 = m0 + 4 * stride, m2 = m1 + 4 * stride;
            FloatVector t0 = column(m, m0, m1, m2, r), t1 = column(m, m0 + stride, m1 + stride, m2 + stride, r);
            FloatVector t2 = column(m, m0 + 2 * stride, m1 + 2 * stride, m2 + 2 * stride, r);
            int out = yAt + r * row;
            FloatVector v = t0.add(t1).add(t2).mul(sc).add(sh);
            if (res != null) {
                v = v.add(FloatVector.fromArray(S, res, out));
            }
            v.max(lo).intoArray(y, out);
            if (col2) {
                FloatVector t3 = column(m, m0 + 3 * stride, m1 + 3 * stride, m2 + 3 * stride, r);
                FloatVector u = t1.sub(t2).sub(t3).mul(sc).add(sh);
                if (res != null) {
                    u = u.add(FloatVector.fromArray(S, res, out + L));
                }
                u.max(lo).intoArray(y, out + L);
            }
        }
    }

    /** One value of Aᵀ M: m0 + m1 + m2 for Aᵀ's first row (r = 0), m0 - m1 - m2 for its second (rows 1-3 of M). */
    private static FloatVector column(float[] m, int m0, int m1, int m2, int r) {
        FloatVector a = FloatVector.fromArray(S, m, m0), b = FloatVector.fromArray(S, m, m1);
        FloatVector c = FloatVector.fromArray(S, m, m2);
        return r == 0 ? a.add(b).add(c) : a.sub(b).sub(c);
    }
}
