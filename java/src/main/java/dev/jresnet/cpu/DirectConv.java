package dev.jresnet.cpu;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

/**
 * A convolution followed by inference batch norm, optionally a residual add and ReLU, computed directly on
 * {@link Blocked} activations: no im2col, no packing of the input. The weights [K, C, R, S] are packed once, here:
 * a layer that steps through whole blocks of input channels (1x1, and {@link #byTaps()}) as [K/L][R·S][C][L], one
 * stream of weights per block of L output channels (ONNX Runtime's, MLAS's, NCHWc filter layout; the hardware
 * prefetchers run 4 streams 4 times further ahead than one: ResNet-50 6-10 % faster than one stream per tile), the
 * others as [K/(OB·L)][C][R][S][OB·L]. Each register tile ({@link DirectTiles}) then computes OB·L output channels
 * for up to 7 pixels of one output row (the default tile on 512-bit vectors; 2 blocks x 6 pixels on 256-bit ones),
 * streaming the weights in the order it uses them and broadcasting the input values from the activation where they
 * lie. This is MLAS's NCHWc design. A layer whose input cannot be blocked (ResNet's stem: 3 channels, padding 3)
 * runs the tiles on a padded planar copy of its input ({@link #forwardPlanar}).
 *
 * <p>Each output is one chain of fused multiply-adds over (c, r, s) in that order, the order of the reference ops'
 * GEMM ({@link CpuOps#conv2d} on im2col's rows), and batch norm, the residual and ReLU round as the reference ops do:
 * the result is bit for bit theirs on the Vector API kernel (tested). Needs the Vector API ({@link #available()});
 * groups = 1 and K a multiple of OB·L ({@link #supports}). Immutable and thread-safe.
 */
public final class DirectConv {
    private final int k, c, r, s, stride, padding;
    private final int lanes, blocks, pixels; // L floats per vector; a tile: OB blocks of L channels x pixels
    private final float[] packed;       // from packedAt: [K/(OB·L)][C][R][S][OB·L], per block [K/L][R][S][C][L]
    private final int packedAt;         // (Winograd's weights are its own)
    // Summed tap by tap (each tap's channels a counted loop of whole blocks, as a 1x1 convolution's) rather than in
    // the reference's (c, r, s) order: not bit for bit; as close to float64 as the reference (see of(..., winograd)).
    private final boolean byTaps;
    // Steps through whole blocks of channels (1x1, and tap by tap), its weights packed per output block,
    // [K/L][R·S][C][L], rather than per tile: see DirectTiles.blocks.
    private final boolean perBlock;
    private final float[] scale, shift; // batch norm as y * scale + shift, per output channel
    private volatile Taps taps;         // the input offsets of the last input size and layout seen
    // The same layer by F(2x2, 3x3) where asked for and possible, else null; then the layer's only copy of its
    // weights (16/9 of them): a second, direct packing would cost a 256 MB heap the room to decode a large photo.
    private final WinogradConv winograd;

    /** The offset of each step (c, r, s) in an input of h x w pixels, blocked or planar. */
    private record Taps(int h, int w, boolean planar, int[] offsets) {}

    private DirectConv(Tensor weight, int stride, int padding, Tensor gamma, Tensor beta, Tensor mean, Tensor var,
                       float eps, int blocks, int pixels, boolean winograd, WeightSlab slab) {
        this.k = weight.dim(0);
        this.c = weight.dim(1);
        this.r = weight.dim(2);
        this.s = weight.dim(3);
        this.stride = stride;
        this.padding = padding;
        this.lanes = DirectTiles.L;
        this.blocks = blocks;
        this.pixels = pixels;
        gamma.require("direct conv bn gamma", k);
        beta.require("direct conv bn beta", k);
        mean.require("direct conv bn mean", k);
        var.require("direct conv bn var", k);
        this.scale = new float[k];
        this.shift = new float[k];
        CpuOps.batchNormScaleShift(gamma, beta, mean, var, eps, scale, shift);
        boolean byWinograd = byWinograd(weight, stride, padding, blocks, pixels, winograd);
        this.byTaps = winograd && !byWinograd && r * s > 1 && c % lanes == 0 && padding <= 1;
        this.perBlock = !byWinograd && (byTaps || r * s == 1 && c % lanes == 0 && padding <= 1);
        int floats = packedFloats(weight, stride, padding, blocks, pixels, winograd);
        if (slab == null) {
            slab = WeightSlab.forFloats(floats, 1);
        }
        this.packed = slab.array();
        this.packedAt = slab.take(floats);
        this.winograd = byWinograd ? new WinogradConv(weight.data(), k, c, scale, shift, packed, packedAt) : null;
        if (!byWinograd) {
            if (perBlock) {  // every layer summed tap by tap is one of these
                packByTaps(weight.data(), k, c, r * s, lanes, packed, packedAt);
            } else {
                pack(weight.data(), k, c * r * s, blocks * lanes, packed, packedAt);
            }
        }
    }

    private static boolean byWinograd(Tensor weight, int stride, int padding, int blocks, int pixels,
                                      boolean winograd) {
        return winograd && WinogradConv.supports(weight.dim(2), weight.dim(3), stride, padding, weight.dim(1))
                && weight.dim(1) % DirectTiles.L == 0 && blocks == DirectTiles.BLOCKS && pixels == DirectTiles.PIXELS;
    }

    /**
     * The floats of a layer's packed weights in a {@link WeightSlab}: its weight's, or 16/9 of them by Winograd. For
     * a layer that {@link #supports} these arguments.
     */
    public static int packedFloats(Tensor weight, int stride, int padding, int blocks, int pixels,
                                   boolean winograd) {
        int k = weight.dim(0), c = weight.dim(1);
        return byWinograd(weight, stride, padding, blocks, pixels, winograd) ? WinogradConv.packedFloats(k, c)
                : Math.toIntExact(weight.size());
    }

    /** Whether the Vector API is there to run this (the JVM was started with {@code jdk.incubator.vector}). */
    public static boolean available() {
        return Gemm.kernel().name().startsWith("vector");
    }

    /**
     * Whether a convolution with this weight shape [K, C/groups, R, S], stride, padding and groups runs here (else
     * use {@link FusedConv}). Call only when {@link #available()}.
     */
    public static boolean supports(Tensor weight, int stride, int padding, int groups) {
        return supports(weight, stride, padding, groups, DirectTiles.BLOCKS);
    }

    /** As {@link #supports(Tensor, int, int, int)}, for a tile of {@code blocks} blocks. */
    public static boolean supports(Tensor weight, int stride, int padding, int groups, int blocks) {
        int l = DirectTiles.L, tileChannels = blocks * l;
        return weight.rank() == 4 && groups == 1 && weight.dim(0) % tileChannels == 0 && stride >= 1 && padding >= 0;
    }

    /** The vector's floats: the L of the blocked layout this runs on. Call only when {@link #available()}. */
    public static int lanes() {
        return DirectTiles.L;
    }

    /** The default tile for this vector size, "4x7" (blocks of L channels x pixels). */
    public static String defaultTile() {
        return DirectTiles.BLOCKS + "x" + DirectTiles.PIXELS;
    }

    /** The default tile's blocks of L channels (4 on 512-bit vectors, 2 on 256-bit ones). */
    public static int defaultBlocks() {
        return DirectTiles.BLOCKS;
    }

    /** The default tile's pixels (7 on 512-bit vectors, 6 on 256-bit ones). */
    public static int defaultPixels() {
        return DirectTiles.PIXELS;
    }

    /** Whether there is a tile of {@code blocks} blocks of L channels and {@code pixels} pixels. */
    public static boolean hasTile(int blocks, int pixels) {
        return DirectTiles.has(blocks, pixels);
    }

    /** Conv with weight [K, C, R, S] (no bias), then batch norm with the given parameters; see {@link #supports}. */
    public static DirectConv of(Tensor weight, int stride, int padding, Tensor gamma, Tensor beta, Tensor mean,
                                Tensor var, float eps) {
        return of(weight, stride, padding, gamma, beta, mean, var, eps, DirectTiles.BLOCKS, DirectTiles.PIXELS, false,
                null);
    }

    /** As {@link #of}, on the tile of {@code blocks} x {@code pixels} ({@link #hasTile}): the kernel lab's variants. */
    public static DirectConv of(Tensor weight, int stride, int padding, Tensor gamma, Tensor beta, Tensor mean,
                                Tensor var, float eps, int blocks, int pixels) {
        return of(weight, stride, padding, gamma, beta, mean, var, eps, blocks, pixels, false, null);
    }

    /**
     * As {@link #of(Tensor, int, int, Tensor, Tensor, Tensor, Tensor, float, int, int, boolean, WeightSlab)}, the
     * packed weights in an array of their own.
     */
    public static DirectConv of(Tensor weight, int stride, int padding, Tensor gamma, Tensor beta, Tensor mean,
                                Tensor var, float eps, int blocks, int pixels, boolean winograd) {
        return of(weight, stride, padding, gamma, beta, mean, var, eps, blocks, pixels, winograd, null);
    }

    /**
     * As {@link #of}, on the tile of {@code blocks} x {@code pixels} ({@link #hasTile}), and with {@code winograd}
     * running a 3x3 stride-1 layer of up to 256 input channels by Winograd's F(2x2, 3x3) ({@link #winograd()}; the
     * default tile only) and summing the other layers of several taps on a blocked input tap by tap ({@link #byTaps()}):
     * not bit for bit the reference; within 1e-6 relative L2 of it, or, where the reference's own error is about that
     * (layer4's 3x3: 4608 terms a sum, 1.05e-6 from float64), as close to float64 as it is. The packed weights go to
     * {@code slab} ({@link #packedFloats} of them), else to an array of their own.
     */
    public static DirectConv of(Tensor weight, int stride, int padding, Tensor gamma, Tensor beta, Tensor mean,
                                Tensor var, float eps, int blocks, int pixels, boolean winograd, WeightSlab slab) {
        if (!DirectTiles.has(blocks, pixels)) {
            throw new IllegalArgumentException("direct conv: no tile of " + blocks + " blocks x " + pixels + " pixels");
        }
        if (!supports(weight, stride, padding, 1, blocks)) {
            throw new IllegalArgumentException("direct conv: weight " + weight.shape() + ", stride " + stride
                    + ", padding " + padding + " needs groups 1 and K a multiple of " + blocks * DirectTiles.L);
        }
        return new DirectConv(weight, stride, padding, gamma, beta, mean, var, eps, blocks, pixels, winograd, slab);
    }

    /** The tile, "4x7". */
    public String tile() {
        return blocks + "x" + pixels;
    }

    /** w [K, CRS] → p[at..] [K/tile][CRS][tile]: a tile's weights in the order its steps read them. */
    private static void pack(float[] w, int k, int crs, int tile, float[] p, int at) {
        int i = at;
        for (int g = 0; g < k / tile; g++) {
            for (int t = 0; t < crs; t++) {
                for (int o = 0; o < tile; o++) {
                    p[i++] = w[(g * tile + o) * crs + t];
                }
            }
        }
    }

    /** w [K, C, R·S] → p[at..] [K/tile][R·S][C][tile]: per tap, its channels in the order the tile's blocks read them. */
    private static void packByTaps(float[] w, int k, int c, int rs, int tile, float[] p, int at) {
        int i = at;
        for (int g = 0; g < k / tile; g++) {
            for (int t = 0; t < rs; t++) {
                for (int ch = 0; ch < c; ch++) {
                    for (int o = 0; o < tile; o++) {
                        p[i++] = w[((g * tile + o) * c + ch) * rs + t];
                    }
                }
            }
        }
    }

    public int outSize(int inSize) {
        return (inSize + 2 * padding - r) / stride + 1;
    }

    public int outChannels() {
        return k;
    }

    /** Whether this layer runs by Winograd's F(2x2, 3x3), whatever the input's size. */
    public boolean winograd() {
        return winograd != null;
    }

    /** Whether this layer sums tap by tap rather than in the reference's (c, r, s) order (see {@link #of}). */
    public boolean byTaps() {
        return byTaps;
    }

    /**
     * out = relu?(bn(conv(in)) + residual?) on blocked tensors: in [N, C/L, H+2, W+2, L], out and residual
     * [N, K/L, P+2, Q+2, L]. Writes only out's interior (its border stays as it was: zero). Returns out. By
     * Winograd's F(2x2, 3x3) where {@link #winograd()} holds.
     */
    public Tensor forward(Tensor out, Tensor in, Tensor residual, boolean relu) {
        if (!Blocked.is(in) || in.dim(1) * in.dim(4) != c || in.dim(4) != lanes) {
            throw new IllegalArgumentException("direct conv input: expected blocked [N, " + c / lanes + ", H+2, W+2, "
                    + lanes + "], found " + in.shape());
        }
        if (padding > 1) {
            throw new IllegalArgumentException("direct conv: padding " + padding + " needs the planar input"
                    + " (forwardPlanar)");
        }
        int h = in.dim(2) - 2, w = in.dim(3) - 2;
        if (winograd != null) {
            requireOperands(out, in, residual, h, w);
            winograd.forward(out, in, residual, relu, chunkSteps());
            return out;
        }
        // The blocked border is one pixel: tap (0, 0) of output (0, 0) lies at padded row and column 1 - padding.
        int row = (w + 2) * lanes;
        run(out, in, residual, relu, h, w, (c / lanes) * (h + 2) * row, row, lanes, (1 - padding) * (row + lanes));
        return out;
    }

    /**
     * Whether the input must come planar (forwardPlanar) rather than blocked: channels not a multiple of L or
     * padding beyond the blocked border, as in ResNet's stem (3 channels, padding 3).
     */
    public boolean planar() {
        return c % lanes != 0 || padding > 1;
    }

    /** The shape of forwardPlanar's scratch for an input [N, C, H, W]: [N, C, H+2·padding, W+2·padding]. */
    public Shape paddedShape(Shape in) {
        return Shape.of(in.dim(0), in.dim(1), in.dim(2) + 2 * padding, in.dim(3) + 2 * padding);
    }

    /**
     * out (blocked [N, K/L, P+2, Q+2, L]) = relu?(bn(conv(in))) for a planar input [N, C, H, W], copied with its
     * zero padding into {@code padded} ({@link #paddedShape}) first, whatever that held: the same tiles, reading
     * one channel plane after another. Returns out.
     */
    public Tensor forwardPlanar(Tensor out, Tensor in, Tensor padded, boolean relu) {
        if (winograd != null || perBlock) {
            throw new IllegalStateException("direct conv: this layer runs " + (byTaps ? "tap by tap"
                    : winograd != null ? "by Winograd's F(2x2, 3x3)" : "on whole blocks of channels")
                    + " on blocked inputs (forward), not on planar ones");
        }
        if (in.rank() != 4 || in.dim(1) != c) {
            throw new IllegalArgumentException("direct conv input: expected [N, C=" + c + ", H, W], found "
                    + in.shape());
        }
        padded.require("direct conv padded input", paddedShape(in.shape()).dims());
        int h = in.dim(2), w = in.dim(3), hp = h + 2 * padding, wp = w + 2 * padding;
        float[] src = in.data(), dst = padded.data();
        Parallel.forEach(in.dim(0) * c, plane -> {
            int base = plane * hp * wp;
            java.util.Arrays.fill(dst, base, base + padding * wp, 0f);
            for (int y = 0; y < h; y++) {
                int d = base + (y + padding) * wp;
                java.util.Arrays.fill(dst, d, d + padding, 0f);
                System.arraycopy(src, (plane * h + y) * w, dst, d + padding, w);
                java.util.Arrays.fill(dst, d + padding + w, d + wp, 0f);
            }
            java.util.Arrays.fill(dst, base + (padding + h) * wp, base + hp * wp, 0f);
        });
        run(out, padded, null, relu, h, w, c * hp * wp, wp, 1, 0);
        return out;
    }

    /**
     * The tiles over every (image, group of OB·L channels, output row, strip of pixels) of an input whose images
     * are {@code image} floats apart, rows {@code row} apart, pixels {@code pixel} apart, tap (0, 0) of output (0, 0)
     * at {@code origin} in an image (the taps' offsets hold the channel and tap parts).
     */
    private void run(Tensor out, Tensor in, Tensor residual, boolean relu, int h, int w, int image, int row,
                     int pixel, int origin) {
        int n = in.dim(0);
        if (h + 2 * padding < r || w + 2 * padding < s) {
            throw new IllegalArgumentException("direct conv: kernel " + r + "x" + s + " is larger than the padded input "
                    + Shape.of(n, c, h, w));
        }
        int p = outSize(h), q = (w + 2 * padding - s) / stride + 1;
        requireOperands(out, in, residual, p, q);

        float[] x = in.data(), y = out.data(), res = residual == null ? null : residual.data();
        int groups = k / (blocks * lanes);
        int outPlane = (p + 2) * (q + 2) * lanes, outRow = (q + 2) * lanes;
        int steps = c * r * s, ps = stride * pixel, tile = blocks * lanes;
        int chunk = chunkSteps();
        // A 1x1 convolution on blocked activations, and one summed tap by tap, step through whole blocks of L
        // channels, (h+2)·row apart: steps [R·S][C] (a 1x1: [C]), each chunk within one tap, on the input shifted to
        // that tap; the others step through (c, r, s) by the taps' table of offsets.
        boolean channelBlocks = pixel == lanes && perBlock;
        int plane = (h + 2) * row;
        int[] offsets = channelBlocks ? null : taps(h, w, pixel == 1).offsets;
        int strip = stripWidth(blocks, pixels, q), strips = (q + strip - 1) / strip;
        int band = perBlock ? rowsPerTask(p, strips, n * groups, Parallel.threads()) : rowsPerTask(p, strips);
        int bands = (p + band - 1) / band;
        float lo = relu ? 0f : Float.NEGATIVE_INFINITY;
        // One task per (image, group of OB·L output channels, band of output rows): a thread's consecutive tasks
        // share weights.
        Parallel.forEach(n * groups * bands, item -> {
            int b = item % bands, g = item / bands % groups, img = item / bands / groups;
            int row0 = b * band, row1 = Math.min(p, row0 + band);
            int wg = packedAt + g * steps * tile;
            for (int t0 = 0, t1; t0 < steps; t0 = t1) {
                t1 = channelBlocks ? Math.min(t0 + chunk, (t0 / c + 1) * c) : Math.min(steps, t0 + chunk);
                // the chunk's tap (r, s) = (tap / s, tap % s), and its offset from tap (0, 0) in the blocked input
                int tap = t0 / c, b0 = t0 % c / lanes, tapShift = channelBlocks ? tap / s * row + tap % s * lanes : 0;
                for (int oh = row0; oh < row1; oh++) {
                    int xRow = img * image + origin + oh * stride * row + tapShift;
                    int yRow = ((img * (k / lanes) + g * blocks) * (p + 2) + oh + 1) * outRow + lanes;
                    for (int ow = 0; ow < q; ow += strip) {
                        int width = Math.min(strip, q - ow);
                        if (channelBlocks) {
                            DirectTiles.blocks(blocks, width, b0, b0 + (t1 - t0) / lanes, x, xRow + ow * ps, plane,
                                    ps, packed, wg + t0 * lanes, steps * lanes, y, yRow + ow * lanes, outPlane, t0 == 0);
                        } else {
                            DirectTiles.tile(blocks, width, t0, t1, x, xRow + ow * ps, ps, offsets, packed,
                                    wg + t0 * tile, y, yRow + ow * lanes, outPlane, t0 == 0);
                        }
                        if (t1 == steps) {
                            DirectTiles.epilogue(y, yRow + ow * lanes, outPlane, blocks, width, scale, shift,
                                    g * tile, res, lo);
                        }
                    }
                }
            }
        });
    }

    /**
     * The pixels of a strip in rows of {@code q} output pixels: the tile's, except that the 4x7 tile runs rows of
     * more than two strips (56, 28, 112 pixels) in strips of 6 and rows of 14 in strips of 5, 5 and 4: its 28
     * accumulators, 4 weight vectors and a broadcast need 33 of the 32 registers, and C2 spills one to three
     * accumulators (a load and a store each, every step), the 4x6 tile none. On wide rows strips of 6: ResNet-50
     * 1.02-1.035x faster at batch 1, 1.012x at batch 8 (AMD EPYC with AVX-512, alternating in one process; layer1's
     * 1x1 convolutions alone 1.09-1.18x). On rows of 14 (layer3) 5 + 5 + 4 rather than 7 + 7 or 6 + 6 + 2: layer3's
     * 1x1 convolutions alone 1.10-1.15x faster at batch 1, 1.05x at batch 8, ResNet-50 1.019-1.051x at batch 1 and
     * 1.010x at batch 8 (3 runs, alternating in one process). A 7-pixel row keeps its one strip of 7 (5 + 2 measured
     * 0.976x the whole pass at batch 1, 0.96x layer4's 1x1 at batch 8). The same sums in the same order, whatever the
     * strip: bit for bit.
     */
    static int stripWidth(int blocks, int pixels, int q) {
        if (blocks != 4 || pixels != 7) {
            return pixels;
        }
        return q > 2 * pixels ? pixels - 1 : q == 2 * pixels ? pixels - 2 : pixels;
    }

    /** The tile of {@code blocks} x {@code pixels} as it runs: "4x7 (4x6 on rows wider than 14, 4x5 on 14)", "2x6". */
    public static String describeTile(int blocks, int pixels) {
        int wide = stripWidth(blocks, pixels, Integer.MAX_VALUE), two = stripWidth(blocks, pixels, 2 * pixels);
        String tile = blocks + "x" + pixels;
        if (wide == pixels && two == pixels) {
            return tile;
        }
        return tile + " (" + blocks + "x" + wide + " on rows wider than " + 2 * pixels
                + (two == pixels ? "" : ", " + blocks + "x" + two + " on " + 2 * pixels) + ")";
    }

    /**
     * Output rows per task for maps of {@code rows} rows of {@code strips} strips: enough strips (at least 4) to use
     * each chunk of weights several times while it is in L1; a map of one strip a row (layer4's 7x7 at 224 px) whole,
     * so that its weights (4-9 MB a layer) stream from L3 once per (image, group) rather than once per band: ResNet-50
     * at batch 1 1.035-1.054x faster (3 runs, alternating in one process; batch 8 unchanged). Not whole maps
     * everywhere: with {@link OperatorProfiles} in place (before it, whole maps made Java 17's C2 compile the tiles
     * onto the Vector API's fallback in 3 JVM starts of 8 at batch 8), they measured no faster than these bands
     * (batch 1 0.753x vs 0.769x of ONNX Runtime, batch 8 0.861x vs 0.838x, alternating in one process).
     */
    static int rowsPerTask(int rows, int strips) {
        return strips == 1 ? rows : Math.min(rows, (4 + strips - 1) / strips);
    }

    /**
     * Output rows per task for a layer that steps through whole blocks of channels (1x1, tap by tap) on {@code maps}
     * (images x groups of OB·L channels) of {@code rows} rows of {@code strips} strips: bands of 8 rows where that
     * still leaves 8 tasks a thread, else {@link #rowsPerTask(int, int)}. Within a task, each chunk of input channels
     * runs over all its rows before the next: a band of 8 rows reads a chunk's planes (8 blocks of channels with
     * 48 KB of L1, see chunkSteps) along 8 rows at a time, streams the hardware prefetchers follow, where one row a
     * task switches among all C/L planes every few KB. ResNet-50 at batch 8 1.015-1.036x faster (4 runs, alternating in one process; layer1's reduce
     * alone 1.08x, layer2's 1.10x). 8-row bands everywhere measured 0.98x at batch 1, where too few tasks idle a
     * thread; with this rule batch 1 is unchanged (0.996x).
     */
    static int rowsPerTask(int rows, int strips, int maps, int threads) {
        int band = rowsPerTask(rows, strips), wide = Math.min(rows, 8);
        long tasks = (long) maps * ((rows + wide - 1) / wide);
        return tasks >= 8L * threads ? Math.max(band, wide) : band;
    }

    /** out (and residual) blocked [N, K/L, P+2, Q+2, L], neither sharing in's array nor out's each other's. */
    private void requireOperands(Tensor out, Tensor in, Tensor residual, int p, int q) {
        int n = in.dim(0);
        out.require("direct conv output", n, k / lanes, p + 2, q + 2, lanes);
        if (residual != null) {
            residual.require("direct conv residual", n, k / lanes, p + 2, q + 2, lanes);
        }
        if (out.data() == in.data() || (residual != null && out.data() == residual.data())) {
            throw new IllegalArgumentException("direct conv: the output must not share its array with an operand");
        }
    }

    /**
     * Steps per chunk: the chunk's weights (steps x OB·L floats) in two thirds of L1, a multiple of L, so that the
     * strips of a band reuse them from L1 rather than stream them from L2 (a layer4 panel is 1.2 MB; measured here,
     * with 2 MB of L2 a core, 1-3 % faster than whole panels; more where L2 is smaller).
     */
    private int chunkSteps() {
        long steps = VectorGemm.Caches.L1 * 2 / 3 / (4L * blocks * lanes);
        return (int) Math.max(lanes, steps / lanes * lanes); // whole blocks of channels, for DirectTiles.blocks
    }

    /**
     * The offset of each step (c, r, s) from tap (0, 0) in an input of h x w pixels: blocked (with its one-pixel
     * border) or planar (padded by {@code padding}).
     */
    private Taps taps(int h, int w, boolean planar) {
        Taps t = taps;
        if (t == null || t.h != h || t.w != w || t.planar != planar) {
            int[] offsets = new int[c * r * s];
            int i = 0;
            for (int ch = 0; ch < c; ch++) {
                for (int dr = 0; dr < r; dr++) {
                    for (int ds = 0; ds < s; ds++) {
                        offsets[i++] = planar ? (ch * (h + 2 * padding) + dr) * (w + 2 * padding) + ds
                                : ((ch / lanes * (h + 2) + dr) * (w + 2) + ds) * lanes + ch % lanes;
                    }
                }
            }
            t = new Taps(h, w, planar, offsets);
            taps = t;
        }
        return t;
    }
}
