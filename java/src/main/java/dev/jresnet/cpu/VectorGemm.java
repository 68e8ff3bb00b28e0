package dev.jresnet.cpu;

import dev.jresnet.cpu.VectorTiles.Tile;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A GEMM on the Vector API, organised as in GotoBLAS/BLIS:
 * <ul>
 *   <li>B is copied, kc rows by nc columns at a time, into column strips NR wide ("packing"), so the
 *       micro-kernel reads it with unit stride from L2;</li>
 *   <li>A is copied into row strips MR tall, each stored column by column, so the MR values the
 *       micro-kernel broadcasts at step p are adjacent. {@link #pack} does this once for all of A;</li>
 *   <li>the micro-kernel ({@link VectorTiles}) keeps an MR x NR tile of C in registers and, for each p,
 *       loads NR/L vectors of B and broadcasts MR values of A.</li>
 * </ul>
 * The tile follows the vector size (see {@link #defaultTile}). Blocking follows the caches: an A strip
 * (MR x kc) fills at most half of L1 while it meets every B strip, and the packed B block (kc x nc) at most
 * half of L2 while every A strip meets it. Edge tiles (M or N not multiples of MR, NR) run the same kernel
 * on zero-padded strips into a small per-thread tile, and only the valid part is copied out.
 *
 * <p>Only {@link Gemm} loads this class, and only when the jdk.incubator.vector module is present.
 */
public final class VectorGemm implements GemmKernel {
    static final VectorSpecies<Float> S = VectorTiles.S;
    /** Lanes per vector: 8 with AVX2, 16 with AVX-512. */
    static final int L = S.length();

    /** The register tile. */
    final Tile tile;
    /** Rows of the register tile (broadcast side). */
    final int mr;
    /** Columns of the register tile (vector side), in floats. */
    final int nr;
    /** Depth of one packed block. */
    final int kc;
    /** Columns of one packed B block. */
    final int nc;
    /**
     * The tile for a strip of v vectors, v = 1..tile.vectors (index v), null where none: a block's last
     * strip, narrower than NR, is packed only as wide as it needs (whole vectors) and runs the narrower
     * kernel with the same rows, so 49 columns cost 3 + 1 vectors of work rather than 3 + 3. Without
     * narrow tiles ({@link #narrow} false) every strip is NR wide. Measured (GemmVariantLab, batch 1, in
     * turns): the 7x7 layers' GEMMs (N=49) 10-20 % faster, e.g. 2048x7x7 -> 512 62.8 -> 76.2 GFLOP/s; no
     * change at batch 8.
     */
    private final Tile[] byVectors;
    /** Whether the last strip of a block runs a narrower tile. */
    final boolean narrow;

    private final Scratch packedB = new Scratch();
    private final Scratch edgeTile = new Scratch();

    /**
     * A packed in row strips: for each KC-deep block of columns (starting at column pc, kc deep), for
     * each strip s of MR rows, kc groups of MR values: {@code data[pc*paddedRows + s*MR*kc + p*MR + i] =
     * A[s*MR + i, pc + p]}, zero for the padding rows i >= rows. MR and KC are the packing kernel's.
     */
    record Packed(int rows, int cols, int paddedRows, int mr, int kc, float[] data) implements PackedMatrix {}

    /** The default tile for this species, blocked for this machine's caches. */
    public VectorGemm() {
        this(defaultTile());
    }

    VectorGemm(Tile tile) {
        this(tile, Caches.L1, Caches.L2);
    }

    /** The tile blocked for caches of l1 and l2 bytes. */
    VectorGemm(Tile tile, long l1, long l2) {
        this(tile, kcFor(tile, l1), ncFor(tile, kcFor(tile, l1), l2));
    }

    /** An explicit tile and blocking, for the kernel lab and tests. */
    VectorGemm(Tile tile, int kc, int nc) {
        this(tile, kc, nc, true);
    }

    /** An explicit tile, blocking and choice of narrow edge tiles, for the kernel lab and tests. */
    VectorGemm(Tile tile, int kc, int nc, boolean narrow) {
        if (kc < 1 || nc < tile.vectors * L) {
            throw new IllegalArgumentException("VectorGemm: kc=" + kc + " nc=" + nc + " for tile " + tile);
        }
        this.tile = tile;
        this.mr = tile.rows;
        this.nr = tile.vectors * L;
        this.kc = kc;
        this.nc = nc / nr * nr;
        this.narrow = narrow;
        this.byVectors = new Tile[tile.vectors + 1];
        for (int v = 1; v <= tile.vectors; v++) {
            byVectors[v] = v == tile.vectors ? tile : narrow ? tile.narrow(v) : null;
        }
    }

    /**
     * A variant by name, for the kernel lab and -Djresnet.cpu.kernel: "MRxNR" (NR in floats, e.g. "6x32" or
     * "12x32" with AVX-512), optionally with the blocking, "12x32/kc512/nc512", and "/wide" for full-width
     * edge strips (no narrow tiles).
     */
    public static VectorGemm variant(String spec) {
        String[] parts = spec.split("/");
        Tile tile = Tile.named(parts[0]);
        if (tile == null) {
            StringBuilder known = new StringBuilder();
            for (Tile t : Tile.values()) {
                known.append(known.length() == 0 ? "" : ", ").append(t.rows).append('x').append(t.vectors * L);
            }
            throw new IllegalArgumentException("no " + S.vectorBitSize() + "-bit Vector API tile \"" + parts[0]
                    + "\"; known: " + known);
        }
        VectorGemm auto = new VectorGemm(tile);
        int kc = auto.kc, nc = auto.nc;
        boolean narrow = auto.narrow;
        for (int i = 1; i < parts.length; i++) {
            if (parts[i].startsWith("kc")) {
                kc = Integer.parseInt(parts[i].substring(2));
            } else if (parts[i].startsWith("nc")) {
                nc = Integer.parseInt(parts[i].substring(2));
            } else if (parts[i].equals("wide") || parts[i].equals("narrow")) {
                narrow = parts[i].equals("narrow");
            } else {
                throw new IllegalArgumentException("kernel variant \"" + spec + "\": expected kcN, ncN, wide or narrow, found "
                        + parts[i]);
            }
        }
        return new VectorGemm(tile, kc, nc, narrow);
    }

    /**
     * With 512-bit vectors (AVX-512, 32 registers) 8 x 3 vectors (8x48): 24 accumulators + 3 B + 1 broadcast,
     * 24 FMAs per 11 loads. Measured on a 2-core Sapphire Rapids over ResNet-50's GEMM shapes at batch 8
     * (GemmVariantLab, in turns): 8x48 0.96 s, 12x32 1.10, 14x32 1.10, 4x64 1.24, 6x32 1.48. With 256 bits
     * or less (AVX2: 16 registers) 6 x 2 vectors: 12 accumulators + 2 B + 1 broadcast, the most that fits
     * in 16. (A 256-bit species on an AVX-512 machine also keeps 6 x 2: the species alone does not say how
     * many registers there are.)
     */
    static Tile defaultTile() {
        return L >= 16 ? Tile.R8V3 : Tile.R6V2;
    }

    /** An A strip (MR x kc floats) in half of L1: a multiple of 16 in [64, 512]. */
    static int kcFor(Tile tile, long l1) {
        long kc = l1 / 2 / (4L * tile.rows) / 16 * 16;
        return (int) Math.max(64, Math.min(512, kc));
    }

    /** The packed B block (kc x nc floats) in half of L2: a multiple of NR in [4 NR, 4096]. */
    static int ncFor(Tile tile, int kc, long l2) {
        int nr = tile.vectors * L;
        long nc = l2 / 2 / (4L * kc) / nr * nr;
        return (int) Math.max(4L * nr, Math.min(4096, nc));
    }

    /**
     * L1d and L2 per core, from sysfs (Linux); where a VM leaves sysfs without them, from {@code getconf} (glibc's
     * answer from CPUID); else 32 KiB and 1 MiB.
     */
    static final class Caches {
        static final long L1;
        static final long L2;

        static {
            String l1 = sysfs(1, "Data"), l2 = sysfs(2, "Unified");
            // one getconf for both: a process start costs 6-9 ms
            Map<String, String> conf = l1 == null || l2 == null ? getconf() : Map.of();
            L1 = parse(l1 != null ? l1 : conf.getOrDefault("LEVEL1_DCACHE_SIZE", ""), 32 << 10);
            L2 = parse(l2 != null ? l2 : conf.getOrDefault("LEVEL2_CACHE_SIZE", ""), 1 << 20);
        }

        /** The size sysfs gives the cache of this level and type ("48K"), or null. */
        private static String sysfs(int level, String type) {
            for (int i = 0; i < 8; i++) {
                Path dir = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + i);
                try {
                    if (Integer.parseInt(Files.readString(dir.resolve("level")).trim()) == level
                            && Files.readString(dir.resolve("type")).trim().equals(type)) {
                        return Files.readString(dir.resolve("size")).trim();
                    }
                } catch (Exception e) { // no sysfs, no such index, a format we do not know: getconf
                }
            }
            return null;
        }

        /**
         * {@code getconf -a}'s variables with a value, or none where there is no getconf or it does not end in 2 s
         * (its 12 KB fit the pipe, so it is read after it ends; a larger output would time out: none).
         */
        static Map<String, String> getconf() {
            try {
                Process p = new ProcessBuilder("getconf", "-a").redirectErrorStream(true).start();
                p.getOutputStream().close();
                if (!p.waitFor(2, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return Map.of();
                }
                String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
                return p.exitValue() == 0 ? parseGetconf(out) : Map.of();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Map.of();
            } catch (Exception e) { // not Linux or no getconf: the fallback
                return Map.of();
            }
        }

        /** Lines "NAME   value" to NAME → value; a name without a value is left out. */
        static Map<String, String> parseGetconf(String out) {
            Map<String, String> vars = new HashMap<>();
            for (String line : out.split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 2) {
                    vars.put(f[0], f[1]);
                }
            }
            return vars;
        }

        /** "48K", "2048K", "1M" in bytes; a size outside 8 KiB..64 MiB is not believed. */
        static long parse(String s, long fallback) {
            try {
                long unit = s.endsWith("K") ? 1 << 10 : s.endsWith("M") ? 1 << 20 : 1;
                long v = Long.parseLong(unit == 1 ? s : s.substring(0, s.length() - 1)) * unit;
                return v >= 8 << 10 && v <= 64L << 20 ? v : fallback;
            } catch (NumberFormatException e) {
                return fallback;
            }
        }
    }

    @Override
    public String name() {
        return "vector-" + S.vectorBitSize() + "bit-" + mr + "x" + nr + (narrow ? "" : "/wide");
    }

    /** MR, the rows of the register tile: row blocks of a packed A start at its multiples. */
    public int rowsPerTile() {
        return mr;
    }

    /** The name with the blocking, for the lab: "vector-512bit-12x32/kc512/nc512". */
    public String detail() {
        return "vector-" + S.vectorBitSize() + "bit-" + mr + "x" + nr + "/kc" + kc + "/nc" + nc
                + (narrow ? "" : "/wide");
    }

    @Override
    public void gemm(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        GemmKernel.checkBounds(m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        gemm(pack(m, k, a, aOff, lda), n, b, bOff, ldb, c, cOff, ldc, accumulate);
    }

    @Override
    public PackedMatrix pack(int m, int k, float[] a, int aOff, int lda) {
        GemmKernel.checkMatrix("A", m, k, a, aOff, lda);
        int paddedRows = roundUp(m, mr);
        float[] data = new float[paddedRows * k];
        for (int pc = 0; pc < k; pc += kc) {
            int depth = Math.min(kc, k - pc);
            for (int s = 0; s * mr < m; s++) {
                int base = pc * paddedRows + s * mr * depth;
                int rows = Math.min(mr, m - s * mr);
                for (int i = 0; i < rows; i++) {
                    int src = aOff + (s * mr + i) * lda + pc;
                    for (int p = 0; p < depth; p++) {
                        data[base + p * mr + i] = a[src + p];
                    }
                }
            }
        }
        return new Packed(m, k, paddedRows, mr, kc, data);
    }

    @Override
    public void gemm(PackedMatrix packed, int n, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                     boolean accumulate) {
        gemmRows(packed, 0, packed.rows(), n, b, bOff, ldb, c, cOff, ldc, accumulate);
    }

    /**
     * Rows m0..m1-1 of C[m, n] (+)= A · B (C row i at c[cOff + i*ldc]) from a packed A, m0 a multiple of MR:
     * a row block of pre-packed weights, as {@link VectorConv} splits small layers over threads.
     */
    public void gemmRows(PackedMatrix packed, int m0, int m1, int n, float[] b, int bOff, int ldb, float[] c,
                         int cOff, int ldc, boolean accumulate) {
        Packed a = check(packed);
        int m = a.rows, k = a.cols;
        if (m0 < 0 || m0 % mr != 0 || m1 < m0 || m1 > m) {
            throw new IllegalArgumentException("gemmRows: rows " + m0 + ".." + m1 + " of " + m + " (MR " + mr + ")");
        }
        GemmKernel.checkMatrix("B", k, n, b, bOff, ldb);
        GemmKernel.checkMatrix("C", m1, n, c, cOff, ldc);
        if (m1 == m0 || n == 0) {
            return;
        }
        float[] bp = packedB.get(kc * roundUp(nc, nr));
        float[] tileC = edgeTile.get(mr * nr);
        for (int jc = 0; jc < n; jc += nc) {
            int ncols = Math.min(nc, n - jc);
            for (int pc = 0; pc < k; pc += kc) {
                int depth = Math.min(kc, k - pc);
                // The kernel adds to C, except that a fresh product's first block starts from zero.
                boolean zero = pc == 0 && !accumulate;
                packB(depth, ncols, b, bOff + pc * ldb + jc, ldb, bp);
                for (int i0 = m0; i0 < m1; i0 += mr) {
                    block(a, i0, Math.min(mr, m1 - i0), pc, depth, ncols, bp, c, cOff + i0 * ldc + jc, ldc, zero, tileC);
                }
            }
        }
    }

    /** The packed A, if this kernel's layout (same MR and KC). */
    Packed check(PackedMatrix packed) {
        if (!(packed instanceof Packed a) || a.mr != mr || a.kc != kc) {
            throw new IllegalArgumentException("gemm: A was packed by another kernel (" + packed + "), not " + detail());
        }
        return a;
    }

    /** One A strip (rows i0.., mrows of them) against every B strip of the packed block: C[mrows, ncols]. */
    void block(Packed a, int i0, int mrows, int pc, int depth, int ncols, float[] bp, float[] c, int cIdx, int ldc,
               boolean zero, float[] tileC) {
        int aIdx = pc * a.paddedRows() + i0 * depth;
        for (int j0 = 0; j0 < ncols; j0 += nr) {
            int ncol = Math.min(nr, ncols - j0);
            int bIdx = j0 * depth; // strip j0/NR starts at (j0/NR) * depth * NR
            int pitch = pitch(ncol);
            Tile t = byVectors[pitch / L];
            if (mrows == mr && ncol == pitch) {
                VectorTiles.kernel(t, depth, a.data(), aIdx, bp, bIdx, c, cIdx + j0, ldc, zero);
            } else {
                edge(t, pitch, depth, a.data(), aIdx, bp, bIdx, c, cIdx + j0, ldc, mrows, ncol, zero, tileC);
            }
        }
    }

    /**
     * The packed width of a strip of w <= NR valid columns: NR, or for a narrower last strip whole vectors
     * when a tile that narrow exists. packB and the kernel agree on it through this method.
     */
    int pitch(int w) {
        if (w >= nr) {
            return nr;
        }
        int v = (w + L - 1) / L;
        return byVectors[v] != null ? v * L : nr;
    }

    /**
     * An edge tile (mrows <= MR rows, ncol <= NR columns of C): the valid part of C is loaded into a
     * zero-padded tile, the kernel runs on it and the valid part is stored back. Every element of C thus sees
     * the same chain of fused multiply-adds as in a full tile, so results do not depend on where tiles fall.
     */
    private void edge(Tile t, int pitch, int depth, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx,
                      int ldc, int mrows, int ncol, boolean zero, float[] tileC) {
        if (!zero) {
            java.util.Arrays.fill(tileC, 0, mr * pitch, 0f);
            for (int i = 0; i < mrows; i++) {
                System.arraycopy(c, cIdx + i * ldc, tileC, i * pitch, ncol);
            }
        }
        VectorTiles.kernel(t, depth, ap, aIdx, bp, bIdx, tileC, 0, pitch, zero);
        for (int i = 0; i < mrows; i++) {
            System.arraycopy(tileC, i * pitch, c, cIdx + i * ldc, ncol);
        }
    }

    /**
     * Copies B[kc, nc] into strips NR wide: {@code bp[t*kc*NR + p*W + j] = B[p, t*NR + j]}, zero past nc, where
     * W = NR except for a narrower last strip, W = {@link #pitch}(its columns).
     */
    void packB(int depth, int ncols, float[] b, int bOff, int ldb, float[] bp) {
        for (int j0 = 0; j0 < ncols; j0 += nr) {
            int w = Math.min(nr, ncols - j0);
            int dst = j0 * depth;
            int src = bOff + j0;
            if (w == nr) {
                for (int p = 0; p < depth; p++, src += ldb, dst += nr) {
                    for (int v = 0; v < nr; v += L) {
                        FloatVector.fromArray(S, b, src + v).intoArray(bp, dst + v);
                    }
                }
            } else {
                int pitch = pitch(w);
                for (int p = 0; p < depth; p++, src += ldb, dst += pitch) {
                    System.arraycopy(b, src, bp, dst, w);
                    java.util.Arrays.fill(bp, dst + w, dst + pitch, 0f);
                }
            }
        }
    }

    static int roundUp(int x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }
}
