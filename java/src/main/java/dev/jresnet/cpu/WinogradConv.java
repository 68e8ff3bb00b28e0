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
    private static final int TILES = 4 * PIXELS; // tiles per task: 4 strips of the register tile

    private final int k, c;
    private final float[] packed;        // from packedAt: [XI][K/(OB·L)][C][OB·L], U_ξ in the order the tiles read it
    private final int packedAt;
    private final float[] scale, shift;  // batch norm as y * scale + shift, per output channel
    private final Scratch transformed = new Scratch(); // a task's V: [XI][C/L][TILES][L]
    private final Scratch products = new Scratch();    // a task's M: [XI][OB][TILES][L]
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
        transform(weight, k, c, BLOCKS * L, packed, packedAt);
    }

    /** The floats of the transformed weights U [XI][K][C]: 16 per 9 of the weight's. */
    static int packedFloats(int k, int c) {
        return Math.multiplyExact(k * c, XI);
    }

    /** The most input channels run here: ResNet's layer1-3 (64-256), not layer4 (512). */
    static final int MAX_CHANNELS = 256;

    /**
     * Whether a convolution with this kernel, stride, padding and input channels runs here (any input size). Not at
     * 512 channels: there a block of TILES tiles uses each transformed weight (16 per 9 of the direct convolution's,
     * 2 MB per group of output channels) only 16-28 times, against the direct convolution's 49 per image of layer4,
     * and measured 0.84x (batch 1) and 0.90x (batch 8) the direct convolution's speed on layer4, 1.16x and 1.32x on
     * layer3.
     */
    static boolean supports(int r, int s, int stride, int padding, int c) {
        return r == 3 && s == 3 && stride == 1 && padding == 1 && c <= MAX_CHANNELS;
    }

    /**
     * U = G g Gᵀ for every (k, c), computed in double and rounded once: g [K, C, 3, 3] to U
     * [XI][K/tile][C][tile], the order the register tiles read it (no second copy on the way: a layer3's U is 4 MB).
     */
    private static void transform(float[] weight, int k, int c, int tile, float[] u, int at) {
        double[][] gm = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
        double[][] t = new double[4][3]; // G g
        for (int g = 0; g < k / tile; g++) {
            for (int ch = 0; ch < c; ch++) {
                for (int o = 0; o < tile; o++) {
                    int from = ((g * tile + o) * c + ch) * 9; // tap (m, j) at + m·3 + j
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
                            u[at + (((i * 4 + j) * (k / tile) + g) * c + ch) * tile + o] = (float) v;
                        }
                    }
                }
            }
        }
    }

    /**
     * out = relu?(bn(conv3x3(in)) + residual?) on blocked tensors in [N, C/L, H+2, W+2, L], out and residual
     * [N, K/L, H+2, W+2, L]. An odd H or W ends in tiles half outside the map: their inputs there are zeros (the
     * padding), their outputs there are not written (out's border stays zero). Steps of {@code chunk} input channels
     * (a multiple of L) keep their weights in L1.
     */
    void forward(Tensor out, Tensor in, Tensor residual, boolean relu, int chunk) {
        int n = in.dim(0), h = in.dim(2) - 2, w = in.dim(3) - 2;
        // Tiles are numbered across the batch: a small map's block of tiles spans images, and so each weight
        // streamed to the register tiles serves up to TILES of them (a 7x7 map has 16 tiles per image).
        int tw = (w + 1) / 2, tilesPerImage = (h + 1) / 2 * tw, tiles = n * tilesPerImage;
        int blocksOfTiles = (tiles + TILES - 1) / TILES;
        float[] x = in.data(), y = out.data(), res = residual == null ? null : residual.data();
        int row = (w + 2) * L, plane = (h + 2) * row, image = c / L * plane;
        int groups = k / (BLOCKS * L), tile = BLOCKS * L;
        float lo = relu ? 0f : Float.NEGATIVE_INFINITY;
        int outImage = k / L * plane; // out has in's height and width: the same rows and planes
        int vXi = c * TILES, mXi = BLOCKS * TILES * L; // one ξ's transformed inputs in V, products in M
        // One task per (group of OB·L output channels, block of TILES tiles), consecutive tasks sharing the group's
        // weights. Each transforms its tiles' inputs itself: that is about 6 % of its products' work, and
        // keeps V in its own cache instead of a shared array of 16/4 the input's size (26 MB for layer1 at batch 8).
        Parallel.forEach(groups * blocksOfTiles, item -> {
            int blk = item % blocksOfTiles, g = item / blocksOfTiles;
            int count = Math.min(TILES, tiles - blk * TILES);
            float[] v = transformed.get(XI * vXi), m = products.get(XI * mXi);
            for (int cb = 0; cb < c / L; cb++) {
                for (int b = 0; b < count; b++) {
                    int tg = blk * TILES + b, img = tg / tilesPerImage, t = tg % tilesPerImage;
                    int ty = t / tw, tx = t % tw;
                    int at = img * image + cb * plane + ty * 2 * row + tx * 2 * L;
                    if (2 * ty + 2 <= h && 2 * tx + 2 <= w) {
                        inputTile(x, at, row, v, cb * TILES * L + b * L, vXi);
                    } else {
                        // its 4x4 patch would read past the padded map: a copy with zeros there
                        float[] patch = edge.get(XI * L);
                        int rows = Math.min(4, h + 2 - 2 * ty), cols = Math.min(4, w + 2 - 2 * tx);
                        java.util.Arrays.fill(patch, 0, XI * L, 0f);
                        for (int i = 0; i < rows; i++) {
                            System.arraycopy(x, at + i * row, patch, i * 4 * L, cols * L);
                        }
                        inputTile(patch, 0, 4 * L, v, cb * TILES * L + b * L, vXi);
                    }
                }
            }
            for (int e = 0; e < XI; e++) {
                int wBase = packedAt + (e * groups + g) * c * tile;
                for (int t0 = 0; t0 < c; t0 += chunk) {
                    int t1 = Math.min(c, t0 + chunk);
                    for (int b = 0; b < count; b += PIXELS) {
                        DirectTiles.blocks(BLOCKS, Math.min(PIXELS, count - b), t0 / L, t1 / L, v, e * vXi + b * L,
                                TILES * L, L, packed, wBase + t0 * tile, m, e * mXi + b * L, TILES * L, t0 == 0);
                    }
                }
            }
            FloatVector floor = FloatVector.broadcast(S, lo);
            for (int o = 0; o < BLOCKS; o++) {
                int ch = g * tile + o * L;
                FloatVector sc = FloatVector.fromArray(S, scale, ch);
                FloatVector sh = FloatVector.fromArray(S, shift, ch);
                for (int b = 0; b < count; b++) {
                    int tg = blk * TILES + b, img = tg / tilesPerImage, t = tg % tilesPerImage;
                    int ty = t / tw, tx = t % tw;
                    int at = img * outImage + (g * BLOCKS + o) * plane + (ty * 2 + 1) * row + (tx * 2 + 1) * L;
                    outputTile(m, o * TILES * L + b * L, mXi, y, at, row, sc, sh, res, floor, 2 * ty + 2 <= h,
                            2 * tx + 2 <= w);
                }
            }
        });
    }

    /** V = Bᵀ d B of the 4x4 patch of L-channel vectors at x[at] (rows {@code row} apart), to v[at + ξ·stride]. */
    private static void inputTile(float[] x, int at, int row, float[] v, int vAt, int stride) {
        // Bᵀ's rows: d0 - d2, d1 + d2, d2 - d1, d1 - d3; first down each column j (tIJ = row i of Bᵀ d), then along
        // each row. Written out: C2 keeps named vectors in registers, an array of them it may box.
        FloatVector d00 = FloatVector.fromArray(S, x, at);
        FloatVector d10 = FloatVector.fromArray(S, x, at + row);
        FloatVector d20 = FloatVector.fromArray(S, x, at + 2 * row);
        FloatVector d30 = FloatVector.fromArray(S, x, at + 3 * row);
        FloatVector t00 = d00.sub(d20);
        FloatVector t10 = d10.add(d20);
        FloatVector t20 = d20.sub(d10);
        FloatVector t30 = d10.sub(d30);
        FloatVector d01 = FloatVector.fromArray(S, x, at + 1 * L);
        FloatVector d11 = FloatVector.fromArray(S, x, at + row + 1 * L);
        FloatVector d21 = FloatVector.fromArray(S, x, at + 2 * row + 1 * L);
        FloatVector d31 = FloatVector.fromArray(S, x, at + 3 * row + 1 * L);
        FloatVector t01 = d01.sub(d21);
        FloatVector t11 = d11.add(d21);
        FloatVector t21 = d21.sub(d11);
        FloatVector t31 = d11.sub(d31);
        FloatVector d02 = FloatVector.fromArray(S, x, at + 2 * L);
        FloatVector d12 = FloatVector.fromArray(S, x, at + row + 2 * L);
        FloatVector d22 = FloatVector.fromArray(S, x, at + 2 * row + 2 * L);
        FloatVector d32 = FloatVector.fromArray(S, x, at + 3 * row + 2 * L);
        FloatVector t02 = d02.sub(d22);
        FloatVector t12 = d12.add(d22);
        FloatVector t22 = d22.sub(d12);
        FloatVector t32 = d12.sub(d32);
        FloatVector d03 = FloatVector.fromArray(S, x, at + 3 * L);
        FloatVector d13 = FloatVector.fromArray(S, x, at + row + 3 * L);
        FloatVector d23 = FloatVector.fromArray(S, x, at + 2 * row + 3 * L);
        FloatVector d33 = FloatVector.fromArray(S, x, at + 3 * row + 3 * L);
        FloatVector t03 = d03.sub(d23);
        FloatVector t13 = d13.add(d23);
        FloatVector t23 = d23.sub(d13);
        FloatVector t33 = d13.sub(d33);
        t00.sub(t02).intoArray(v, vAt + 0 * stride);
        t01.add(t02).intoArray(v, vAt + 1 * stride);
        t02.sub(t01).intoArray(v, vAt + 2 * stride);
        t01.sub(t03).intoArray(v, vAt + 3 * stride);
        t10.sub(t12).intoArray(v, vAt + 4 * stride);
        t11.add(t12).intoArray(v, vAt + 5 * stride);
        t12.sub(t11).intoArray(v, vAt + 6 * stride);
        t11.sub(t13).intoArray(v, vAt + 7 * stride);
        t20.sub(t22).intoArray(v, vAt + 8 * stride);
        t21.add(t22).intoArray(v, vAt + 9 * stride);
        t22.sub(t21).intoArray(v, vAt + 10 * stride);
        t21.sub(t23).intoArray(v, vAt + 11 * stride);
        t30.sub(t32).intoArray(v, vAt + 12 * stride);
        t31.add(t32).intoArray(v, vAt + 13 * stride);
        t32.sub(t31).intoArray(v, vAt + 14 * stride);
        t31.sub(t33).intoArray(v, vAt + 15 * stride);
    }

    /**
     * Y = Aᵀ M A of one tile's 16 products (m[at + ξ·stride]), then batch norm, the residual and ReLU, to the 2x2
     * outputs at y[yAt] (rows {@code row} apart); the second row and column only where they lie in the map.
     */
    private static void outputTile(float[] m, int at, int stride, float[] y, int yAt, int row, FloatVector sc,
                                   FloatVector sh, float[] res, FloatVector floor, boolean row2, boolean col2) {
        // Aᵀ's rows: m0 + m1 + m2, m1 - m2 - m3; down each column j, then along the rows.
        FloatVector m00 = FloatVector.fromArray(S, m, at + 0 * stride);
        FloatVector m10 = FloatVector.fromArray(S, m, at + 4 * stride);
        FloatVector m20 = FloatVector.fromArray(S, m, at + 8 * stride);
        FloatVector m30 = FloatVector.fromArray(S, m, at + 12 * stride);
        FloatVector t00 = m00.add(m10).add(m20);
        FloatVector t10 = m10.sub(m20).sub(m30);
        FloatVector m01 = FloatVector.fromArray(S, m, at + 1 * stride);
        FloatVector m11 = FloatVector.fromArray(S, m, at + 5 * stride);
        FloatVector m21 = FloatVector.fromArray(S, m, at + 9 * stride);
        FloatVector m31 = FloatVector.fromArray(S, m, at + 13 * stride);
        FloatVector t01 = m01.add(m11).add(m21);
        FloatVector t11 = m11.sub(m21).sub(m31);
        FloatVector m02 = FloatVector.fromArray(S, m, at + 2 * stride);
        FloatVector m12 = FloatVector.fromArray(S, m, at + 6 * stride);
        FloatVector m22 = FloatVector.fromArray(S, m, at + 10 * stride);
        FloatVector m32 = FloatVector.fromArray(S, m, at + 14 * stride);
        FloatVector t02 = m02.add(m12).add(m22);
        FloatVector t12 = m12.sub(m22).sub(m32);
        FloatVector m03 = FloatVector.fromArray(S, m, at + 3 * stride);
        FloatVector m13 = FloatVector.fromArray(S, m, at + 7 * stride);
        FloatVector m23 = FloatVector.fromArray(S, m, at + 11 * stride);
        FloatVector m33 = FloatVector.fromArray(S, m, at + 15 * stride);
        FloatVector t03 = m03.add(m13).add(m23);
        FloatVector t13 = m13.sub(m23).sub(m33);
        store(t00.add(t01).add(t02), y, yAt, sc, sh, res, floor);
        if (col2) {
            store(t01.sub(t02).sub(t03), y, yAt + L, sc, sh, res, floor);
        }
        if (row2) {
            store(t10.add(t11).add(t12), y, yAt + row, sc, sh, res, floor);
            if (col2) {
                store(t11.sub(t12).sub(t13), y, yAt + row + L, sc, sh, res, floor);
            }
        }
    }

    private static void store(FloatVector acc, float[] y, int i, FloatVector sc, FloatVector sh, float[] res,
                              FloatVector floor) {
        FloatVector v = acc.mul(sc).add(sh);
        if (res != null) {
            v = v.add(FloatVector.fromArray(S, res, i));
        }
        v.max(floor).intoArray(y, i);
    }
}
