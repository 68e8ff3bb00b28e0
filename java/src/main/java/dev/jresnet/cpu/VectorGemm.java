package dev.jresnet.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A GEMM on the Vector API, organised as in GotoBLAS/BLIS:
 * <ul>
 *   <li>B is copied, KC rows by NC columns at a time, into column strips NR wide ("packing"), so the
 *       micro-kernel reads it with unit stride from L2;</li>
 *   <li>A is copied into row strips MR tall, each stored column by column, so the MR values the
 *       micro-kernel broadcasts at step p are adjacent. {@link #pack} does this once for all of A;</li>
 *   <li>the micro-kernel keeps an MR x NR tile of C in registers (MR x 2 vectors) and, for each p,
 *       loads two vectors of B and broadcasts MR values of A: 2*MR fused multiply-adds per 2 + MR loads.</li>
 * </ul>
 * With 256-bit vectors (AVX2: 16 registers) MR = 6 gives 12 accumulators + 2 B vectors + 1 broadcast.
 * Edge tiles (M or N not multiples of MR, NR) run the same kernel on zero-padded strips into a small
 * per-thread tile, and only the valid part is copied out.
 *
 * <p>Only {@link Gemm} loads this class, and only when the jdk.incubator.vector module is present.
 */
public final class VectorGemm implements GemmKernel {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Lanes per vector: 8 with AVX2, 16 with AVX-512. */
    static final int L = S.length();
    /** Rows of the register tile (broadcast side). */
    static final int MR = 6;
    /** Columns of the register tile (vector side): two vectors. */
    static final int NR = 2 * L;
    /** Depth of one packed block: an A strip (KC x MR) stays in L1 while it meets every B strip. */
    static final int KC = 256;
    /** Columns of one packed B block: KC x NC floats (512 KiB) stay in L2 while every A strip meets them. */
    static final int NC = 512;

    /** Per-thread scratch: the packed B block and the edge tile; grow-only, never shared between threads. */
    private static final class Scratch {
        final float[] packedB = new float[KC * roundUp(NC, NR)];
        final float[] tile = new float[MR * NR];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * A packed in row strips: for each KC-deep block of columns (starting at column pc, kc deep), for
     * each strip s of MR rows, kc groups of MR values: {@code data[pc*paddedRows + s*MR*kc + p*MR + i] =
     * A[s*MR + i, pc + p]}, zero for the padding rows i >= rows.
     */
    record Packed(int rows, int cols, int paddedRows, float[] data) implements PackedMatrix {}

    @Override
    public String name() {
        return "vector-" + S.vectorBitSize() + "bit-" + MR + "x" + NR;
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
        int paddedRows = roundUp(m, MR);
        float[] data = new float[paddedRows * k];
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            for (int s = 0; s * MR < m; s++) {
                int base = pc * paddedRows + s * MR * kc;
                int rows = Math.min(MR, m - s * MR);
                for (int i = 0; i < rows; i++) {
                    int src = aOff + (s * MR + i) * lda + pc;
                    for (int p = 0; p < kc; p++) {
                        data[base + p * MR + i] = a[src + p];
                    }
                }
            }
        }
        return new Packed(m, k, paddedRows, data);
    }

    @Override
    public void gemm(PackedMatrix packed, int n, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                     boolean accumulate) {
        if (!(packed instanceof Packed a)) {
            throw new IllegalArgumentException("gemm: A was packed by another kernel (" + packed.getClass().getName() + ")");
        }
        int m = a.rows, k = a.cols;
        GemmKernel.checkMatrix("B", k, n, b, bOff, ldb);
        GemmKernel.checkMatrix("C", m, n, c, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (!accumulate) {
            // The kernel always adds to C, so a fresh product starts from zeros.
            for (int i = 0; i < m; i++) {
                java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            }
        }
        Scratch scratch = SCRATCH.get();
        float[] bp = scratch.packedB;
        float[] tile = scratch.tile;
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                packB(kc, nc, b, bOff + pc * ldb + jc, ldb, bp);
                for (int i0 = 0; i0 < m; i0 += MR) {
                    int mr = Math.min(MR, m - i0);
                    int aIdx = pc * a.paddedRows + i0 * kc;
                    for (int j0 = 0; j0 < nc; j0 += NR) {
                        int nr = Math.min(NR, nc - j0);
                        int bIdx = j0 * kc; // strip j0/NR starts at (j0/NR) * kc * NR
                        int cIdx = cOff + i0 * ldc + jc + j0;
                        if (mr == MR && nr == NR) {
                            kernel(kc, a.data, aIdx, bp, bIdx, c, cIdx, ldc);
                        } else {
                            edge(kc, a.data, aIdx, bp, bIdx, c, cIdx, ldc, mr, nr, tile);
                        }
                    }
                }
            }
        }
    }

    /**
     * An edge tile (mr <= MR rows, nr <= NR columns of C): the valid part of C is loaded into a zero-padded
     * tile, the kernel runs on it and the valid part is stored back. Every element of C thus sees the same
     * chain of fused multiply-adds as in a full tile, so results do not depend on where tiles fall.
     */
    static void edge(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                     int mr, int nr, float[] tile) {
        java.util.Arrays.fill(tile, 0f);
        for (int i = 0; i < mr; i++) {
            System.arraycopy(c, cIdx + i * ldc, tile, i * NR, nr);
        }
        kernel(kc, ap, aIdx, bp, bIdx, tile, 0, NR);
        for (int i = 0; i < mr; i++) {
            System.arraycopy(tile, i * NR, c, cIdx + i * ldc, nr);
        }
    }

    /** Copies B[kc, nc] into strips NR wide: {@code bp[t*kc*NR + p*NR + j] = B[p, t*NR + j]}, zero past nc. */
    static void packB(int kc, int nc, float[] b, int bOff, int ldb, float[] bp) {
        for (int j0 = 0; j0 < nc; j0 += NR) {
            int w = Math.min(NR, nc - j0);
            int dst = j0 * kc;
            int src = bOff + j0;
            if (w == NR) {
                for (int p = 0; p < kc; p++, src += ldb, dst += NR) {
                    FloatVector.fromArray(S, b, src).intoArray(bp, dst);
                    FloatVector.fromArray(S, b, src + L).intoArray(bp, dst + L);
                }
            } else {
                for (int p = 0; p < kc; p++, src += ldb, dst += NR) {
                    System.arraycopy(b, src, bp, dst, w);
                    java.util.Arrays.fill(bp, dst + w, dst + NR, 0f);
                }
            }
        }
    }

    /**
     * The register tile: C[MR, NR] += Apanel[MR, kc] · Bpanel[kc, NR], with Apanel stored p-major
     * (MR values per p) at ap[aIdx..] and Bpanel stored p-major (NR values per p) at bp[bIdx..].
     * Twelve named accumulators, because C2 keeps locals in registers but not array elements. The
     * method is deliberately small and branch-free: if C2's inlining budget runs out before every
     * Vector API call in it is inlined, the vectors become heap objects and the kernel runs 2x slower.
     */
    static void kernel(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc) {
        int c1 = cIdx + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        FloatVector c00 = FloatVector.fromArray(S, c, cIdx), c01 = FloatVector.fromArray(S, c, cIdx + L);
        FloatVector c10 = FloatVector.fromArray(S, c, c1), c11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector c20 = FloatVector.fromArray(S, c, c2), c21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector c30 = FloatVector.fromArray(S, c, c3), c31 = FloatVector.fromArray(S, c, c3 + L);
        FloatVector c40 = FloatVector.fromArray(S, c, c4), c41 = FloatVector.fromArray(S, c, c4 + L);
        FloatVector c50 = FloatVector.fromArray(S, c, c5), c51 = FloatVector.fromArray(S, c, c5 + L);
        for (int p = 0; p < kc; p++) {
            int ai = aIdx + p * MR;
            int bi = bIdx + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector av = FloatVector.broadcast(S, ap[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        c00.intoArray(c, cIdx);
        c01.intoArray(c, cIdx + L);
        c10.intoArray(c, c1);
        c11.intoArray(c, c1 + L);
        c20.intoArray(c, c2);
        c21.intoArray(c, c2 + L);
        c30.intoArray(c, c3);
        c31.intoArray(c, c3 + L);
        c40.intoArray(c, c4);
        c41.intoArray(c, c4 + L);
        c50.intoArray(c, c5);
        c51.intoArray(c, c5 + L);
    }

    static int roundUp(int x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }
}
