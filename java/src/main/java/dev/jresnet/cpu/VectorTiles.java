package dev.jresnet.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register tiles of {@link VectorGemm}: C[mr, vectors*L] += Apanel[mr, kc] · Bpanel[kc, vectors*L], with
 * Apanel stored p-major (mr values per p) at ap[aIdx..] and Bpanel stored p-major (vectors*L values per p) at
 * bp[bIdx..]; with {@code zero} the accumulators start from zero and C is only written.
 *
 * <p>One method per tile with named accumulators, because C2 keeps locals in registers but not array elements.
 * Each method is small and branch-free in its loop: if C2's inlining budget runs out before every Vector API
 * call in it is inlined, the vectors become heap objects and the kernel runs 2x slower. Every element of C
 * sees the same chain of fused multiply-adds, p = 0, 1, ..., kc-1, whatever the tile, so all tiles give
 * bitwise the same C. Tried on a 2-core Sapphire Rapids (GemmVariantLab, batch 8, in turns) and dropped:
 * 8x48 with p unrolled by 2 (8 % slower over the network's GEMMs) or 4 (24 % slower), with B and A indices
 * computed from p for range-check elimination (2 % slower, within noise), and 7x48 / 6x48 (11 %, 12 % slower).
 *
 * <p>Generated (a short loop over (rows, vectors) that prints these methods); edit them together.
 */
final class VectorTiles {
    private VectorTiles() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    /** The tiles with a kernel here: rows (broadcast side) x vectors (B side). */
    enum Tile {
        R6V2(6, 2),
        R4V3(4, 3),
        R12V2(12, 2),
        R8V3(8, 3),
        R14V2(14, 2),
        R4V4(4, 4),
        // Narrow tiles: a block's last strip, narrower than a wide tile with the same rows (same packed A).
        R6V1(6, 1),
        R4V1(4, 1),
        R4V2(4, 2),
        R12V1(12, 1),
        R8V1(8, 1),
        R8V2(8, 2),
        R14V1(14, 1);

        final int rows;
        final int vectors;

        Tile(int rows, int vectors) {
            this.rows = rows;
            this.vectors = vectors;
        }

        /** The tile with these rows and the given number of vectors, or null when none has a kernel here. */
        Tile narrow(int vectors) {
            for (Tile t : values()) {
                if (t.rows == rows && t.vectors == vectors) {
                    return t;
                }
            }
            return null;
        }

        /** The tile "MRxNR" (NR in floats, as in the kernel's name) for this species, or null. */
        static Tile named(String mrByNr) {
            for (Tile t : values()) {
                if ((t.rows + "x" + t.vectors * L).equals(mrByNr)) {
                    return t;
                }
            }
            return null;
        }
    }

    static void kernel(Tile tile, int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                       boolean zero) {
        switch (tile) {
            case R6V2 -> kernel6x2(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R4V3 -> kernel4x3(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R12V2 -> kernel12x2(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R8V3 -> kernel8x3(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R14V2 -> kernel14x2(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R4V4 -> kernel4x4(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R6V1 -> kernel6x1(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R4V1 -> kernel4x1(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R4V2 -> kernel4x2(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R12V1 -> kernel12x1(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R8V1 -> kernel8x1(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R8V2 -> kernel8x2(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            case R14V1 -> kernel14x1(kc, ap, aIdx, bp, bIdx, c, cIdx, ldc, zero);
            default -> throw new IllegalStateException("no kernel for " + tile);
        }
    }

    /** 6 rows x 2 vectors: 12 accumulators + 2 B vectors + 1 broadcast = 15 registers. */
    static void kernel6x2(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c01 = zero ? z : FloatVector.fromArray(S, c, r0 + 1 * L);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c11 = zero ? z : FloatVector.fromArray(S, c, r1 + 1 * L);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c21 = zero ? z : FloatVector.fromArray(S, c, r2 + 1 * L);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c31 = zero ? z : FloatVector.fromArray(S, c, r3 + 1 * L);
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, r4);
        FloatVector c41 = zero ? z : FloatVector.fromArray(S, c, r4 + 1 * L);
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, r5);
        FloatVector c51 = zero ? z : FloatVector.fromArray(S, c, r5 + 1 * L);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 6, bi += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * L);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        c00.intoArray(c, r0);
        c01.intoArray(c, r0 + 1 * L);
        c10.intoArray(c, r1);
        c11.intoArray(c, r1 + 1 * L);
        c20.intoArray(c, r2);
        c21.intoArray(c, r2 + 1 * L);
        c30.intoArray(c, r3);
        c31.intoArray(c, r3 + 1 * L);
        c40.intoArray(c, r4);
        c41.intoArray(c, r4 + 1 * L);
        c50.intoArray(c, r5);
        c51.intoArray(c, r5 + 1 * L);
    }

    /** 4 rows x 3 vectors: 12 accumulators + 3 B vectors + 1 broadcast = 16 registers. */
    static void kernel4x3(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c01 = zero ? z : FloatVector.fromArray(S, c, r0 + 1 * L);
        FloatVector c02 = zero ? z : FloatVector.fromArray(S, c, r0 + 2 * L);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c11 = zero ? z : FloatVector.fromArray(S, c, r1 + 1 * L);
        FloatVector c12 = zero ? z : FloatVector.fromArray(S, c, r1 + 2 * L);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c21 = zero ? z : FloatVector.fromArray(S, c, r2 + 1 * L);
        FloatVector c22 = zero ? z : FloatVector.fromArray(S, c, r2 + 2 * L);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c31 = zero ? z : FloatVector.fromArray(S, c, r3 + 1 * L);
        FloatVector c32 = zero ? z : FloatVector.fromArray(S, c, r3 + 2 * L);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 4, bi += 3 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * L);
            FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * L);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            c02 = a.fma(b2, c02);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            c12 = a.fma(b2, c12);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            c22 = a.fma(b2, c22);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            c32 = a.fma(b2, c32);
        }
        c00.intoArray(c, r0);
        c01.intoArray(c, r0 + 1 * L);
        c02.intoArray(c, r0 + 2 * L);
        c10.intoArray(c, r1);
        c11.intoArray(c, r1 + 1 * L);
        c12.intoArray(c, r1 + 2 * L);
        c20.intoArray(c, r2);
        c21.intoArray(c, r2 + 1 * L);
        c22.intoArray(c, r2 + 2 * L);
        c30.intoArray(c, r3);
        c31.intoArray(c, r3 + 1 * L);
        c32.intoArray(c, r3 + 2 * L);
    }

    /** 12 rows x 2 vectors: 24 accumulators + 2 B vectors + 1 broadcast = 27 registers. */
    static void kernel12x2(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc, r6 = r5 + ldc, r7 = r6 + ldc, r8 = r7 + ldc, r9 = r8 + ldc, r10 = r9 + ldc, r11 = r10 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c01 = zero ? z : FloatVector.fromArray(S, c, r0 + 1 * L);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c11 = zero ? z : FloatVector.fromArray(S, c, r1 + 1 * L);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c21 = zero ? z : FloatVector.fromArray(S, c, r2 + 1 * L);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c31 = zero ? z : FloatVector.fromArray(S, c, r3 + 1 * L);
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, r4);
        FloatVector c41 = zero ? z : FloatVector.fromArray(S, c, r4 + 1 * L);
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, r5);
        FloatVector c51 = zero ? z : FloatVector.fromArray(S, c, r5 + 1 * L);
        FloatVector c60 = zero ? z : FloatVector.fromArray(S, c, r6);
        FloatVector c61 = zero ? z : FloatVector.fromArray(S, c, r6 + 1 * L);
        FloatVector c70 = zero ? z : FloatVector.fromArray(S, c, r7);
        FloatVector c71 = zero ? z : FloatVector.fromArray(S, c, r7 + 1 * L);
        FloatVector c80 = zero ? z : FloatVector.fromArray(S, c, r8);
        FloatVector c81 = zero ? z : FloatVector.fromArray(S, c, r8 + 1 * L);
        FloatVector c90 = zero ? z : FloatVector.fromArray(S, c, r9);
        FloatVector c91 = zero ? z : FloatVector.fromArray(S, c, r9 + 1 * L);
        FloatVector c100 = zero ? z : FloatVector.fromArray(S, c, r10);
        FloatVector c101 = zero ? z : FloatVector.fromArray(S, c, r10 + 1 * L);
        FloatVector c110 = zero ? z : FloatVector.fromArray(S, c, r11);
        FloatVector c111 = zero ? z : FloatVector.fromArray(S, c, r11 + 1 * L);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 12, bi += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * L);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
            a = FloatVector.broadcast(S, ap[ai + 8]);
            c80 = a.fma(b0, c80);
            c81 = a.fma(b1, c81);
            a = FloatVector.broadcast(S, ap[ai + 9]);
            c90 = a.fma(b0, c90);
            c91 = a.fma(b1, c91);
            a = FloatVector.broadcast(S, ap[ai + 10]);
            c100 = a.fma(b0, c100);
            c101 = a.fma(b1, c101);
            a = FloatVector.broadcast(S, ap[ai + 11]);
            c110 = a.fma(b0, c110);
            c111 = a.fma(b1, c111);
        }
        c00.intoArray(c, r0);
        c01.intoArray(c, r0 + 1 * L);
        c10.intoArray(c, r1);
        c11.intoArray(c, r1 + 1 * L);
        c20.intoArray(c, r2);
        c21.intoArray(c, r2 + 1 * L);
        c30.intoArray(c, r3);
        c31.intoArray(c, r3 + 1 * L);
        c40.intoArray(c, r4);
        c41.intoArray(c, r4 + 1 * L);
        c50.intoArray(c, r5);
        c51.intoArray(c, r5 + 1 * L);
        c60.intoArray(c, r6);
        c61.intoArray(c, r6 + 1 * L);
        c70.intoArray(c, r7);
        c71.intoArray(c, r7 + 1 * L);
        c80.intoArray(c, r8);
        c81.intoArray(c, r8 + 1 * L);
        c90.intoArray(c, r9);
        c91.intoArray(c, r9 + 1 * L);
        c100.intoArray(c, r10);
        c101.intoArray(c, r10 + 1 * L);
        c110.intoArray(c, r11);
        c111.intoArray(c, r11 + 1 * L);
    }

    /** 8 rows x 3 vectors: 24 accumulators + 3 B vectors + 1 broadcast = 28 registers. */
    static void kernel8x3(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc, r6 = r5 + ldc, r7 = r6 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c01 = zero ? z : FloatVector.fromArray(S, c, r0 + 1 * L);
        FloatVector c02 = zero ? z : FloatVector.fromArray(S, c, r0 + 2 * L);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c11 = zero ? z : FloatVector.fromArray(S, c, r1 + 1 * L);
        FloatVector c12 = zero ? z : FloatVector.fromArray(S, c, r1 + 2 * L);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c21 = zero ? z : FloatVector.fromArray(S, c, r2 + 1 * L);
        FloatVector c22 = zero ? z : FloatVector.fromArray(S, c, r2 + 2 * L);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c31 = zero ? z : FloatVector.fromArray(S, c, r3 + 1 * L);
        FloatVector c32 = zero ? z : FloatVector.fromArray(S, c, r3 + 2 * L);
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, r4);
        FloatVector c41 = zero ? z : FloatVector.fromArray(S, c, r4 + 1 * L);
        FloatVector c42 = zero ? z : FloatVector.fromArray(S, c, r4 + 2 * L);
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, r5);
        FloatVector c51 = zero ? z : FloatVector.fromArray(S, c, r5 + 1 * L);
        FloatVector c52 = zero ? z : FloatVector.fromArray(S, c, r5 + 2 * L);
        FloatVector c60 = zero ? z : FloatVector.fromArray(S, c, r6);
        FloatVector c61 = zero ? z : FloatVector.fromArray(S, c, r6 + 1 * L);
        FloatVector c62 = zero ? z : FloatVector.fromArray(S, c, r6 + 2 * L);
        FloatVector c70 = zero ? z : FloatVector.fromArray(S, c, r7);
        FloatVector c71 = zero ? z : FloatVector.fromArray(S, c, r7 + 1 * L);
        FloatVector c72 = zero ? z : FloatVector.fromArray(S, c, r7 + 2 * L);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 8, bi += 3 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * L);
            FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * L);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            c02 = a.fma(b2, c02);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            c12 = a.fma(b2, c12);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            c22 = a.fma(b2, c22);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            c32 = a.fma(b2, c32);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            c42 = a.fma(b2, c42);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            c52 = a.fma(b2, c52);
            a = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            c62 = a.fma(b2, c62);
            a = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
            c72 = a.fma(b2, c72);
        }
        c00.intoArray(c, r0);
        c01.intoArray(c, r0 + 1 * L);
        c02.intoArray(c, r0 + 2 * L);
        c10.intoArray(c, r1);
        c11.intoArray(c, r1 + 1 * L);
        c12.intoArray(c, r1 + 2 * L);
        c20.intoArray(c, r2);
        c21.intoArray(c, r2 + 1 * L);
        c22.intoArray(c, r2 + 2 * L);
        c30.intoArray(c, r3);
        c31.intoArray(c, r3 + 1 * L);
        c32.intoArray(c, r3 + 2 * L);
        c40.intoArray(c, r4);
        c41.intoArray(c, r4 + 1 * L);
        c42.intoArray(c, r4 + 2 * L);
        c50.intoArray(c, r5);
        c51.intoArray(c, r5 + 1 * L);
        c52.intoArray(c, r5 + 2 * L);
        c60.intoArray(c, r6);
        c61.intoArray(c, r6 + 1 * L);
        c62.intoArray(c, r6 + 2 * L);
        c70.intoArray(c, r7);
        c71.intoArray(c, r7 + 1 * L);
        c72.intoArray(c, r7 + 2 * L);
    }

    /** 14 rows x 2 vectors: 28 accumulators + 2 B vectors + 1 broadcast = 31 registers. */
    static void kernel14x2(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc, r6 = r5 + ldc, r7 = r6 + ldc, r8 = r7 + ldc, r9 = r8 + ldc, r10 = r9 + ldc, r11 = r10 + ldc, r12 = r11 + ldc, r13 = r12 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c01 = zero ? z : FloatVector.fromArray(S, c, r0 + 1 * L);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c11 = zero ? z : FloatVector.fromArray(S, c, r1 + 1 * L);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c21 = zero ? z : FloatVector.fromArray(S, c, r2 + 1 * L);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c31 = zero ? z : FloatVector.fromArray(S, c, r3 + 1 * L);
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, r4);
        FloatVector c41 = zero ? z : FloatVector.fromArray(S, c, r4 + 1 * L);
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, r5);
        FloatVector c51 = zero ? z : FloatVector.fromArray(S, c, r5 + 1 * L);
        FloatVector c60 = zero ? z : FloatVector.fromArray(S, c, r6);
        FloatVector c61 = zero ? z : FloatVector.fromArray(S, c, r6 + 1 * L);
        FloatVector c70 = zero ? z : FloatVector.fromArray(S, c, r7);
        FloatVector c71 = zero ? z : FloatVector.fromArray(S, c, r7 + 1 * L);
        FloatVector c80 = zero ? z : FloatVector.fromArray(S, c, r8);
        FloatVector c81 = zero ? z : FloatVector.fromArray(S, c, r8 + 1 * L);
        FloatVector c90 = zero ? z : FloatVector.fromArray(S, c, r9);
        FloatVector c91 = zero ? z : FloatVector.fromArray(S, c, r9 + 1 * L);
        FloatVector c100 = zero ? z : FloatVector.fromArray(S, c, r10);
        FloatVector c101 = zero ? z : FloatVector.fromArray(S, c, r10 + 1 * L);
        FloatVector c110 = zero ? z : FloatVector.fromArray(S, c, r11);
        FloatVector c111 = zero ? z : FloatVector.fromArray(S, c, r11 + 1 * L);
        FloatVector c120 = zero ? z : FloatVector.fromArray(S, c, r12);
        FloatVector c121 = zero ? z : FloatVector.fromArray(S, c, r12 + 1 * L);
        FloatVector c130 = zero ? z : FloatVector.fromArray(S, c, r13);
        FloatVector c131 = zero ? z : FloatVector.fromArray(S, c, r13 + 1 * L);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 14, bi += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * L);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
            a = FloatVector.broadcast(S, ap[ai + 8]);
            c80 = a.fma(b0, c80);
            c81 = a.fma(b1, c81);
            a = FloatVector.broadcast(S, ap[ai + 9]);
            c90 = a.fma(b0, c90);
            c91 = a.fma(b1, c91);
            a = FloatVector.broadcast(S, ap[ai + 10]);
            c100 = a.fma(b0, c100);
            c101 = a.fma(b1, c101);
            a = FloatVector.broadcast(S, ap[ai + 11]);
            c110 = a.fma(b0, c110);
            c111 = a.fma(b1, c111);
            a = FloatVector.broadcast(S, ap[ai + 12]);
            c120 = a.fma(b0, c120);
            c121 = a.fma(b1, c121);
            a = FloatVector.broadcast(S, ap[ai + 13]);
            c130 = a.fma(b0, c130);
            c131 = a.fma(b1, c131);
        }
        c00.intoArray(c, r0);
        c01.intoArray(c, r0 + 1 * L);
        c10.intoArray(c, r1);
        c11.intoArray(c, r1 + 1 * L);
        c20.intoArray(c, r2);
        c21.intoArray(c, r2 + 1 * L);
        c30.intoArray(c, r3);
        c31.intoArray(c, r3 + 1 * L);
        c40.intoArray(c, r4);
        c41.intoArray(c, r4 + 1 * L);
        c50.intoArray(c, r5);
        c51.intoArray(c, r5 + 1 * L);
        c60.intoArray(c, r6);
        c61.intoArray(c, r6 + 1 * L);
        c70.intoArray(c, r7);
        c71.intoArray(c, r7 + 1 * L);
        c80.intoArray(c, r8);
        c81.intoArray(c, r8 + 1 * L);
        c90.intoArray(c, r9);
        c91.intoArray(c, r9 + 1 * L);
        c100.intoArray(c, r10);
        c101.intoArray(c, r10 + 1 * L);
        c110.intoArray(c, r11);
        c111.intoArray(c, r11 + 1 * L);
        c120.intoArray(c, r12);
        c121.intoArray(c, r12 + 1 * L);
        c130.intoArray(c, r13);
        c131.intoArray(c, r13 + 1 * L);
    }

    /** 4 rows x 4 vectors: 16 accumulators + 4 B vectors + 1 broadcast = 21 registers. */
    static void kernel4x4(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c01 = zero ? z : FloatVector.fromArray(S, c, r0 + 1 * L);
        FloatVector c02 = zero ? z : FloatVector.fromArray(S, c, r0 + 2 * L);
        FloatVector c03 = zero ? z : FloatVector.fromArray(S, c, r0 + 3 * L);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c11 = zero ? z : FloatVector.fromArray(S, c, r1 + 1 * L);
        FloatVector c12 = zero ? z : FloatVector.fromArray(S, c, r1 + 2 * L);
        FloatVector c13 = zero ? z : FloatVector.fromArray(S, c, r1 + 3 * L);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c21 = zero ? z : FloatVector.fromArray(S, c, r2 + 1 * L);
        FloatVector c22 = zero ? z : FloatVector.fromArray(S, c, r2 + 2 * L);
        FloatVector c23 = zero ? z : FloatVector.fromArray(S, c, r2 + 3 * L);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c31 = zero ? z : FloatVector.fromArray(S, c, r3 + 1 * L);
        FloatVector c32 = zero ? z : FloatVector.fromArray(S, c, r3 + 2 * L);
        FloatVector c33 = zero ? z : FloatVector.fromArray(S, c, r3 + 3 * L);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 4, bi += 4 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * L);
            FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, bp, bi + 3 * L);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            c02 = a.fma(b2, c02);
            c03 = a.fma(b3, c03);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            c12 = a.fma(b2, c12);
            c13 = a.fma(b3, c13);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            c22 = a.fma(b2, c22);
            c23 = a.fma(b3, c23);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            c32 = a.fma(b2, c32);
            c33 = a.fma(b3, c33);
        }
        c00.intoArray(c, r0);
        c01.intoArray(c, r0 + 1 * L);
        c02.intoArray(c, r0 + 2 * L);
        c03.intoArray(c, r0 + 3 * L);
        c10.intoArray(c, r1);
        c11.intoArray(c, r1 + 1 * L);
        c12.intoArray(c, r1 + 2 * L);
        c13.intoArray(c, r1 + 3 * L);
        c20.intoArray(c, r2);
        c21.intoArray(c, r2 + 1 * L);
        c22.intoArray(c, r2 + 2 * L);
        c23.intoArray(c, r2 + 3 * L);
        c30.intoArray(c, r3);
        c31.intoArray(c, r3 + 1 * L);
        c32.intoArray(c, r3 + 2 * L);
        c33.intoArray(c, r3 + 3 * L);
    }

    /** 6 rows x 1 vector: 6 accumulators + 1 B vector + 1 broadcast = 8 registers. */
    static void kernel6x1(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, r4);
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, r5);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 6, bi += 1 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
        }
        c00.intoArray(c, r0);
        c10.intoArray(c, r1);
        c20.intoArray(c, r2);
        c30.intoArray(c, r3);
        c40.intoArray(c, r4);
        c50.intoArray(c, r5);
    }

    /** 4 rows x 1 vector: 4 accumulators + 1 B vector + 1 broadcast = 6 registers. */
    static void kernel4x1(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 4, bi += 1 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
        }
        c00.intoArray(c, r0);
        c10.intoArray(c, r1);
        c20.intoArray(c, r2);
        c30.intoArray(c, r3);
    }

    /** 4 rows x 2 vectors: 8 accumulators + 2 B vectors + 1 broadcast = 11 registers. */
    static void kernel4x2(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c01 = zero ? z : FloatVector.fromArray(S, c, r0 + 1 * L);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c11 = zero ? z : FloatVector.fromArray(S, c, r1 + 1 * L);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c21 = zero ? z : FloatVector.fromArray(S, c, r2 + 1 * L);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c31 = zero ? z : FloatVector.fromArray(S, c, r3 + 1 * L);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 4, bi += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * L);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
        }
        c00.intoArray(c, r0);
        c01.intoArray(c, r0 + 1 * L);
        c10.intoArray(c, r1);
        c11.intoArray(c, r1 + 1 * L);
        c20.intoArray(c, r2);
        c21.intoArray(c, r2 + 1 * L);
        c30.intoArray(c, r3);
        c31.intoArray(c, r3 + 1 * L);
    }

    /** 12 rows x 1 vector: 12 accumulators + 1 B vector + 1 broadcast = 14 registers. */
    static void kernel12x1(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc, r6 = r5 + ldc, r7 = r6 + ldc, r8 = r7 + ldc, r9 = r8 + ldc, r10 = r9 + ldc, r11 = r10 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, r4);
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, r5);
        FloatVector c60 = zero ? z : FloatVector.fromArray(S, c, r6);
        FloatVector c70 = zero ? z : FloatVector.fromArray(S, c, r7);
        FloatVector c80 = zero ? z : FloatVector.fromArray(S, c, r8);
        FloatVector c90 = zero ? z : FloatVector.fromArray(S, c, r9);
        FloatVector c100 = zero ? z : FloatVector.fromArray(S, c, r10);
        FloatVector c110 = zero ? z : FloatVector.fromArray(S, c, r11);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 12, bi += 1 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            a = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            a = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            a = FloatVector.broadcast(S, ap[ai + 8]);
            c80 = a.fma(b0, c80);
            a = FloatVector.broadcast(S, ap[ai + 9]);
            c90 = a.fma(b0, c90);
            a = FloatVector.broadcast(S, ap[ai + 10]);
            c100 = a.fma(b0, c100);
            a = FloatVector.broadcast(S, ap[ai + 11]);
            c110 = a.fma(b0, c110);
        }
        c00.intoArray(c, r0);
        c10.intoArray(c, r1);
        c20.intoArray(c, r2);
        c30.intoArray(c, r3);
        c40.intoArray(c, r4);
        c50.intoArray(c, r5);
        c60.intoArray(c, r6);
        c70.intoArray(c, r7);
        c80.intoArray(c, r8);
        c90.intoArray(c, r9);
        c100.intoArray(c, r10);
        c110.intoArray(c, r11);
    }

    /** 8 rows x 1 vector: 8 accumulators + 1 B vector + 1 broadcast = 10 registers. */
    static void kernel8x1(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc, r6 = r5 + ldc, r7 = r6 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, r4);
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, r5);
        FloatVector c60 = zero ? z : FloatVector.fromArray(S, c, r6);
        FloatVector c70 = zero ? z : FloatVector.fromArray(S, c, r7);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 8, bi += 1 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            a = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            a = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = a.fma(b0, c70);
        }
        c00.intoArray(c, r0);
        c10.intoArray(c, r1);
        c20.intoArray(c, r2);
        c30.intoArray(c, r3);
        c40.intoArray(c, r4);
        c50.intoArray(c, r5);
        c60.intoArray(c, r6);
        c70.intoArray(c, r7);
    }

    /** 8 rows x 2 vectors: 16 accumulators + 2 B vectors + 1 broadcast = 19 registers. */
    static void kernel8x2(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc, r6 = r5 + ldc, r7 = r6 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c01 = zero ? z : FloatVector.fromArray(S, c, r0 + 1 * L);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c11 = zero ? z : FloatVector.fromArray(S, c, r1 + 1 * L);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c21 = zero ? z : FloatVector.fromArray(S, c, r2 + 1 * L);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c31 = zero ? z : FloatVector.fromArray(S, c, r3 + 1 * L);
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, r4);
        FloatVector c41 = zero ? z : FloatVector.fromArray(S, c, r4 + 1 * L);
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, r5);
        FloatVector c51 = zero ? z : FloatVector.fromArray(S, c, r5 + 1 * L);
        FloatVector c60 = zero ? z : FloatVector.fromArray(S, c, r6);
        FloatVector c61 = zero ? z : FloatVector.fromArray(S, c, r6 + 1 * L);
        FloatVector c70 = zero ? z : FloatVector.fromArray(S, c, r7);
        FloatVector c71 = zero ? z : FloatVector.fromArray(S, c, r7 + 1 * L);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 8, bi += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * L);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
        }
        c00.intoArray(c, r0);
        c01.intoArray(c, r0 + 1 * L);
        c10.intoArray(c, r1);
        c11.intoArray(c, r1 + 1 * L);
        c20.intoArray(c, r2);
        c21.intoArray(c, r2 + 1 * L);
        c30.intoArray(c, r3);
        c31.intoArray(c, r3 + 1 * L);
        c40.intoArray(c, r4);
        c41.intoArray(c, r4 + 1 * L);
        c50.intoArray(c, r5);
        c51.intoArray(c, r5 + 1 * L);
        c60.intoArray(c, r6);
        c61.intoArray(c, r6 + 1 * L);
        c70.intoArray(c, r7);
        c71.intoArray(c, r7 + 1 * L);
    }

    /** 14 rows x 1 vector: 14 accumulators + 1 B vector + 1 broadcast = 16 registers. */
    static void kernel14x1(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                            boolean zero) {
        int r0 = cIdx, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc, r6 = r5 + ldc, r7 = r6 + ldc, r8 = r7 + ldc, r9 = r8 + ldc, r10 = r9 + ldc, r11 = r10 + ldc, r12 = r11 + ldc, r13 = r12 + ldc;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, r0);
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, r1);
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, r2);
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, r3);
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, r4);
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, r5);
        FloatVector c60 = zero ? z : FloatVector.fromArray(S, c, r6);
        FloatVector c70 = zero ? z : FloatVector.fromArray(S, c, r7);
        FloatVector c80 = zero ? z : FloatVector.fromArray(S, c, r8);
        FloatVector c90 = zero ? z : FloatVector.fromArray(S, c, r9);
        FloatVector c100 = zero ? z : FloatVector.fromArray(S, c, r10);
        FloatVector c110 = zero ? z : FloatVector.fromArray(S, c, r11);
        FloatVector c120 = zero ? z : FloatVector.fromArray(S, c, r12);
        FloatVector c130 = zero ? z : FloatVector.fromArray(S, c, r13);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += 14, bi += 1 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            a = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            a = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            a = FloatVector.broadcast(S, ap[ai + 8]);
            c80 = a.fma(b0, c80);
            a = FloatVector.broadcast(S, ap[ai + 9]);
            c90 = a.fma(b0, c90);
            a = FloatVector.broadcast(S, ap[ai + 10]);
            c100 = a.fma(b0, c100);
            a = FloatVector.broadcast(S, ap[ai + 11]);
            c110 = a.fma(b0, c110);
            a = FloatVector.broadcast(S, ap[ai + 12]);
            c120 = a.fma(b0, c120);
            a = FloatVector.broadcast(S, ap[ai + 13]);
            c130 = a.fma(b0, c130);
        }
        c00.intoArray(c, r0);
        c10.intoArray(c, r1);
        c20.intoArray(c, r2);
        c30.intoArray(c, r3);
        c40.intoArray(c, r4);
        c50.intoArray(c, r5);
        c60.intoArray(c, r6);
        c70.intoArray(c, r7);
        c80.intoArray(c, r8);
        c90.intoArray(c, r9);
        c100.intoArray(c, r10);
        c110.intoArray(c, r11);
        c120.intoArray(c, r12);
        c130.intoArray(c, r13);
    }
}
