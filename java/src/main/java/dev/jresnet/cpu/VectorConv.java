package dev.jresnet.cpu;

import jdk.incubator.vector.FloatVector;

import static dev.jresnet.cpu.VectorGemm.L;
import static dev.jresnet.cpu.VectorGemm.S;

/**
 * {@link ConvDriver} on {@link VectorGemm}'s packing and micro-kernel: weights pre-packed, the first KC
 * block of each tile starts from zero instead of a zero-filled C, and batch norm, residual and ReLU are
 * applied to each MR-row strip of C right after its last KC block, while it is still in L1.
 * The work split follows {@link Conv2d} (column chunks within images, or across small images), and
 * small layers are further cut by rows of the weights so both threads share the work without both
 * streaming all the weights.
 */
final class VectorConv implements ConvDriver {
    private static final int MAX_COLS_FLOATS = 1 << 20;

    /** The packing and register tile (MR x NR, KC, NC), the active kernel's when that is a VectorGemm. */
    final VectorGemm gemm;
    /** Columns per chunk: wide enough to amortise the kernel's per-block overheads, narrow enough to balance. */
    final int targetColumns;
    /** Work items per thread below which small layers are also cut by rows. */
    final int itemsPerThread;

    /** Whether stride-2 convolutions read the input's parity phases (see {@link #phases}). */
    final boolean usePhases;

    VectorConv() {
        this(Gemm.kernel() instanceof VectorGemm v ? v : new VectorGemm());
    }

    /** On the given tile and blocking (tests, kernel lab). */
    VectorConv(VectorGemm gemm) {
        this(gemm, 1024, 2, true);
    }

    /** A variant with other tuning parameters, for the kernel lab. */
    VectorConv(VectorGemm gemm, int targetColumns, int itemsPerThread, boolean usePhases) {
        this.gemm = gemm;
        this.targetColumns = targetColumns;
        this.itemsPerThread = itemsPerThread;
        this.usePhases = usePhases;
    }

    private static final ThreadLocal<Columns> COLUMNS = ThreadLocal.withInitial(Columns::new);
    private static final Scratch PRODUCT = new Scratch();

    private static final Scratch PACKED_B = new Scratch();
    private static final Scratch TILE = new Scratch();

    @Override
    public GemmKernel.PackedMatrix pack(float[] weight, int k, int crs) {
        return gemm.pack(k, crs, weight, 0, crs);
    }

    @Override
    public void run(GemmKernel.PackedMatrix packedWeight, float[] out, float[] in, int n, int k, Conv2d.Geometry g,
                    float[] scale, float[] shift, float[] residual, boolean relu) {
        VectorGemm.Packed a = gemm.check(packedWeight);
        int mr = gemm.mr;
        int crs = g.c() * g.r() * g.s();
        int pq = g.p() * g.q();
        boolean direct = g.r() == 1 && g.s() == 1 && g.stride() == 1 && g.pad() == 0;

        int maxChunk = Math.max(16, Math.min(targetColumns, MAX_COLS_FLOATS / crs / 16 * 16));
        // A whole small batch of a 1x1 conv stays one chunk: it is cut by rows below.
        ColumnChunks chunks = ColumnChunks.plan(n, pq, maxChunk, g.r() == 1 && g.s() == 1);
        int columnItems = chunks.items();
        // Too few column chunks to keep every thread busy twice over: 1x1 convolutions are also cut by rows
        // (output channels), so the threads share the weights rather than each streaming all of them. Not
        // convolutions that need im2col: every row block would repeat it, which costs more than it saves.
        int want = itemsPerThread * Parallel.threads();
        boolean oneByOne = g.r() == 1 && g.s() == 1;
        int rowBlocks = columnItems >= want || !oneByOne ? 1
                : Math.min(Gemm.ceilDiv(want, columnItems), Gemm.ceilDiv(k, 4 * mr));
        int rowsPerBlock = Gemm.roundUp(Gemm.ceilDiv(k, rowBlocks), mr);
        int blocks = Gemm.ceilDiv(k, rowsPerBlock);

        // Stride 2 with a large kernel (the 7x7 stem): split the input into its four (row, column) parity
        // phases once, so that packing reads every kernel tap at unit stride (vector copies) instead of
        // gathering every other element. It pays when each input element is packed many times (49 taps
        // over 4 phases); measured slower for the 1x1/2 and 3x3/2 convs, which read each element 0.25 or
        // 2.25 times, so those keep the strided gather.
        float[] phases = usePhases && g.stride() == 2 && g.r() * g.s() >= 16 ? phases(in, n, g) : null;
        float[] src = phases != null ? phases : in;
        Parallel.forEach(columnItems * blocks, item -> {
            int colItem = item / blocks;
            int m0 = (item % blocks) * rowsPerBlock;
            int m1 = Math.min(k, m0 + rowsPerBlock);
            long first = chunks.first(colItem);
            int width = chunks.width(colItem);
            int img = (int) (first / pq);
            int j0 = (int) (first % pq);
            boolean oneImage = j0 + width <= pq;

            // B is read straight from the input: as a matrix for a 1x1 stride-1 conv within one image, else
            // through the im2col geometry while packing (no im2col buffer).
            Columns cols = null;
            int bOff = img * g.c() * pq + j0;
            if (!(direct && oneImage)) {
                cols = COLUMNS.get();
                cols.describe(g, first, width, phases != null, gemm);
            }
            if (oneImage) {
                int cOff = img * k * pq + j0;
                gemm(a, m0, m1, width, src, bOff, pq, cols, g, out, cOff, pq, scale, shift, residual, relu);
            } else {
                float[] product = PRODUCT.get((m1 - m0) * width);
                gemm(a, m0, m1, width, src, bOff, pq, cols, g, product, -m0 * width, width, null, null, null, false);
                scatter(product, m0, m1, width, first, out, k, pq, scale, shift, residual, relu);
            }
        });
    }

    /**
     * Rows m0..m1-1 of C[K, n] = A · B[crs, n] (C row i at c[cOff + i*ldc]), then the epilogue on those
     * rows when scale is not null (residual, when present, laid out as C).
     */
    private void gemm(VectorGemm.Packed a, int m0, int m1, int n, float[] b, int bOff, int ldb, Columns cols,
                      Conv2d.Geometry g, float[] c, int cOff, int ldc, float[] scale, float[] shift,
                      float[] residual, boolean relu) {
        int k = a.cols();
        int mr = gemm.mr, nr = gemm.nr, kcMax = gemm.kc, ncMax = gemm.nc;
        float[] bp = PACKED_B.get(kcMax * VectorGemm.roundUp(ncMax, nr));
        float[] tile = TILE.get(mr * nr);
        for (int jc = 0; jc < n; jc += ncMax) {
            int nc = Math.min(ncMax, n - jc);
            for (int pc = 0; pc < k; pc += kcMax) {
                int kc = Math.min(kcMax, k - pc);
                boolean firstBlock = pc == 0;
                boolean lastBlock = pc + kc == k;
                if (cols == null) {
                    gemm.packB(kc, nc, b, bOff + pc * ldb + jc, ldb, bp);
                } else {
                    cols.pack(g, b, jc, nc, pc, kc, bp);
                }
                for (int i0 = m0; i0 < m1; i0 += mr) {
                    int rows = Math.min(mr, m1 - i0);
                    // The first KC block starts from zero instead of a zero-filled C.
                    gemm.block(a, i0, rows, pc, kc, nc, bp, c, cOff + i0 * ldc + jc, ldc, firstBlock, tile);
                    if (lastBlock && scale != null) {
                        for (int i = i0; i < i0 + rows; i++) {
                            int off = cOff + i * ldc + jc;
                            epilogue(c, off, c, off, nc, scale[i], shift[i], residual, off, relu);
                        }
                    }
                }
            }
        }
    }

    /**
     * in[N, C, H, W] as phases[N, 4, C, Hp, Wp] with Hp = ceil(H/2), Wp = ceil(W/2):
     * phases[img, 2*py + px, c, y, x] = in[img, c, 2y + py, 2x + px] (0 past the edge, never read).
     */
    private static float[] phases(float[] in, int n, Conv2d.Geometry g) {
        int c = g.c(), h = g.h(), w = g.w(), hp = (h + 1) / 2, wp = (w + 1) / 2;
        float[] out = new float[n * 4 * c * hp * wp];
        Parallel.forRanges(n * c, Math.max(1, (1 << 15) / (h * w)), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int img = plane / c, ch = plane % c;
                int srcPlane = plane * h * w;
                for (int py = 0; py < 2; py++) {
                    for (int px = 0; px < 2; px++) {
                        int dstPlane = ((img * 4 + py * 2 + px) * c + ch) * hp * wp;
                        for (int y = 0; 2 * y + py < h; y++) {
                            int s0 = srcPlane + (2 * y + py) * w + px;
                            int d0 = dstPlane + y * wp;
                            for (int x = 0; 2 * x + px < w; x++) {
                                out[d0 + x] = in[s0 + 2 * x];
                            }
                        }
                    }
                }
            }
        });
        return out;
    }

    /**
     * Where each column of a chunk reads the input: column j (output pixel (op, oq) of image img) reads
     * in[base[j] + (ch*H + kr)*W + ks] for row (ch, kr, ks) of the im2col matrix, when ih[j] + kr lies in
     * [0, H) and iw[j] + ks in [0, W), else 0. The columns of each strip are cut into runs that lie in one
     * output row of one image (a strip of 48 columns over 56-wide rows spans two rows 5 times in 7): a run
     * reads the input at a constant stride, so it is packed with one bounds check in y, a clipped x range
     * and one copy loop (vector copies for a whole strip) rather than with bounds checks per element.
     * Runs shorter than 16 (7x7 maps) stay per element. Measured on a shared 2-core Sapphire Rapids (8x48, one
     * thread, one image, fastest of 21 runs in 3 alternating processes), packing per element vs by runs:
     * layer1's 3x3 (K=576, N=3136) 3.2-5.5 -> 2.0-2.4 ms, against the kernel's ~2.5 ms; layer3's 3x3 (14x14)
     * 1.6 -> 0.8-1.4 ms; the stem (K=147, N=12544, phased) 1.8-3.8 -> 1.6-1.7 ms; layer4's 3x3 (7x7) unchanged.
     */
    private static final class Columns {
        int[] base = new int[0], ih = new int[0], iw = new int[0];
        /** Run r covers columns runStart[r] .. runStart[r] + runLen[r] - 1; strip t has runs firstRun[t] .. firstRun[t+1]-1. */
        int[] runStart = new int[0], runLen = new int[0], firstRun = new int[0];

        /** Whether the input is read from its stride-2 phases (see {@link #phases}). */
        boolean phased;
        /** The packing's strip width (the tile's NR). */
        int nr;
        /** The packing's kernel, for the width of a narrower last strip ({@link VectorGemm#pitch}). */
        VectorGemm gemm;

        void describe(Conv2d.Geometry g, long first, int width, boolean phased, VectorGemm gemm) {
            this.phased = phased;
            this.gemm = gemm;
            this.nr = gemm.nr;
            int strips = Gemm.ceilDiv(width, nr);
            if (base.length < width || firstRun.length < strips + 1) {
                base = new int[width];
                ih = new int[width];
                iw = new int[width];
                runStart = new int[width];
                runLen = new int[width];
                firstRun = new int[strips + 1];
            }
            int pq = g.p() * g.q();
            int chw = g.c() * g.h() * g.w();
            int hp = (g.h() + 1) / 2, wp = (g.w() + 1) / 2;
            for (int j = 0; j < width; j++) {
                long col = first + j;
                int img = (int) (col / pq);
                int pix = (int) (col % pq);
                if (phased) {
                    // In phase coordinates an output pixel (op, oq) reads (op + dy, oq + dx) of some phase.
                    int op = pix / g.q(), oq = pix % g.q();
                    ih[j] = op;
                    iw[j] = oq;
                    base[j] = img * 4 * g.c() * hp * wp + op * wp + oq;
                    continue;
                }
                int h0 = pix / g.q() * g.stride() - g.pad();
                int w0 = pix % g.q() * g.stride() - g.pad();
                ih[j] = h0;
                iw[j] = w0;
                base[j] = img * chw + h0 * g.w() + w0;
            }
            // A run ends at a strip's end, a new output row or a new image (where iw jumps back).
            int step = phased ? 1 : g.stride();
            int runs = 0;
            for (int t = 0; t < strips; t++) {
                firstRun[t] = runs;
                int end = Math.min(width, (t + 1) * nr);
                for (int j = t * nr; j < end; ) {
                    int j1 = j + 1;
                    while (j1 < end && ih[j1] == ih[j] && iw[j1] - iw[j] == (j1 - j) * step
                            && base[j1] - base[j] == (j1 - j) * step) {
                        j1++;
                    }
                    runStart[runs] = j;
                    runLen[runs] = j1 - j;
                    runs++;
                    j = j1;
                }
            }
            firstRun[strips] = runs;
        }

        /** Packs rows pc..pc+kc-1, columns jc..jc+nc-1 of the im2col matrix as VectorGemm.packB does. */
        void pack(Conv2d.Geometry g, float[] in, int jc, int nc, int pc, int kc, float[] bp) {
            int rs = g.r() * g.s(), stride = phased ? 1 : g.stride();
            int hp = (g.h() + 1) / 2, wp = (g.w() + 1) / 2;
            int nr = this.nr;
            int strips = Gemm.ceilDiv(nc, nr);
            // The last strip, when narrower than NR, is packed W = pitch wide: bp[t*kc*NR + p*W + j].
            int lastPitch = gemm.pitch(nc - (strips - 1) * nr);
            for (int p = 0; p < kc; p++) {
                int rowIdx = pc + p;
                int ch = rowIdx / rs;
                int kr = rowIdx % rs / g.s();
                int ks = rowIdx % g.s();
                // Row p reads in[base[j] + off] for column j when 0 <= ih[j] + dy < h and 0 <= iw[j] + dx < w.
                int off, dy, dx, h, w;
                if (phased) {
                    int py = Math.floorMod(kr - g.pad(), 2), px = Math.floorMod(ks - g.pad(), 2);
                    dy = Math.floorDiv(kr - g.pad(), 2);
                    dx = Math.floorDiv(ks - g.pad(), 2);
                    h = (g.h() - py + 1) / 2;
                    w = (g.w() - px + 1) / 2;
                    off = (((py * 2 + px) * g.c() + ch) * hp + dy) * wp + dx;
                } else {
                    dy = kr;
                    dx = ks;
                    h = g.h();
                    w = g.w();
                    off = (ch * h + kr) * w + ks;
                }
                for (int t = 0; t < strips; t++) {
                    int j0 = jc + t * nr;
                    int valid = Math.min(nr, jc + nc - j0);
                    int pitch = valid == nr ? nr : lastPitch;
                    int dst = t * kc * nr + p * pitch;
                    int strip = j0 / nr;
                    for (int r = firstRun[strip], rEnd = firstRun[strip + 1]; r < rEnd; r++) {
                        int j = runStart[r], len = runLen[r];
                        int d = dst + (j - j0);
                        int y = ih[j] + dy;
                        if (y < 0 || y >= h) {
                            for (int i = 0; i < len; i++) {
                                bp[d + i] = 0f;
                            }
                            continue;
                        }
                        // Column j + i reads x = x0 + i*stride: valid for i in [lo, hi).
                        int x0 = iw[j] + dx;
                        int src = base[j] + off;
                        if (len < 16) {
                            // A short run (the 7 columns of a 7x7 map): per element, as a loop with a copy and
                            // fills around it costs more than the copy (layer4's 3x3 at batch 1 packed 2x slower).
                            for (int i = 0, x = x0; i < len; i++, x += stride) {
                                bp[d + i] = x >= 0 && x < w ? in[src + i * stride] : 0f;
                            }
                            continue;
                        }
                        int lo = Math.min(len, x0 >= 0 ? 0 : (-x0 + stride - 1) / stride);
                        int hi = Math.max(lo, Math.min(len, x0 >= w ? 0 : (w - x0 + stride - 1) / stride));
                        if (stride == 1 && lo == 0 && hi == nr) {
                            for (int v = 0; v < nr; v += L) {
                                FloatVector.fromArray(S, in, src + v).intoArray(bp, d + v);
                            }
                            continue;
                        }
                        for (int i = 0; i < lo; i++) {
                            bp[d + i] = 0f;
                        }
                        if (stride == 1) {
                            System.arraycopy(in, src + lo, bp, d + lo, hi - lo);
                        } else {
                            for (int i = lo; i < hi; i++) {
                                bp[d + i] = in[src + i * stride];
                            }
                        }
                        for (int i = hi; i < len; i++) {
                            bp[d + i] = 0f;
                        }
                    }
                    java.util.Arrays.fill(bp, dst + valid, dst + pitch, 0f);
                }
            }
        }
    }

    /** Rows m0..m1-1 of product[K, width] (stored from row m0 on) through the epilogue into out[N, K, PQ]. */
    private static void scatter(float[] product, int m0, int m1, int width, long first, float[] out, int k, int pq,
                                float[] scale, float[] shift, float[] residual, boolean relu) {
        int done = 0;
        while (done < width) {
            long col = first + done;
            int img = (int) (col / pq);
            int j0 = (int) (col % pq);
            int len = Math.min(width - done, pq - j0);
            for (int row = m0; row < m1; row++) {
                int dst = (img * k + row) * pq + j0;
                epilogue(product, (row - m0) * width + done, out, dst, len, scale[row], shift[row], residual, dst, relu);
            }
            done += len;
        }
    }

    /** y[yOff..+len] = relu?((x * scale + shift) + residual?), rounding after each step as the unfused ops. */
    private static void epilogue(float[] x, int xOff, float[] y, int yOff, int len, float scale, float shift,
                                 float[] residual, int rOff, boolean relu) {
        FloatVector a = FloatVector.broadcast(S, scale);
        FloatVector b = FloatVector.broadcast(S, shift);
        int j = 0;
        int bound = S.loopBound(len);
        if (residual == null) {
            if (relu) {
                for (; j < bound; j += L) {
                    FloatVector v = FloatVector.fromArray(S, x, xOff + j).mul(a).add(b);
                    v.max(0f).intoArray(y, yOff + j);
                }
            } else {
                for (; j < bound; j += L) {
                    FloatVector.fromArray(S, x, xOff + j).mul(a).add(b).intoArray(y, yOff + j);
                }
            }
        } else {
            for (; j < bound; j += L) {
                FloatVector v = FloatVector.fromArray(S, x, xOff + j).mul(a).add(b)
                        .add(FloatVector.fromArray(S, residual, rOff + j));
                (relu ? v.max(0f) : v).intoArray(y, yOff + j);
            }
        }
        for (; j < len; j++) {
            float v = x[xOff + j] * scale + shift;
            if (residual != null) {
                v = v + residual[rOff + j];
            }
            y[yOff + j] = relu ? Math.max(v, 0f) : v;
        }
    }
}
