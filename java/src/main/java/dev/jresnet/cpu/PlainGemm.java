package dev.jresnet.cpu;

/**
 * The reference GEMM: plain Java loops, blocked so that a slab of B stays in cache while the rows of
 * A sweep over it. The innermost loop runs along a row of C and B (unit stride), which C2
 * auto-vectorizes; no packing, no explicit register tiling. Works on every JVM.
 */
public final class PlainGemm implements GemmKernel {
    /** Rows of B (= columns of A) per slab: KB x NB floats of B stay in L2 across all rows of A. */
    private static final int KB = 128;
    /** Columns per slab: a row segment of C (NB floats) stays in L1 across the KB updates. */
    private static final int NB = 512;

    @Override
    public String name() {
        return "plain";
    }

    @Override
    public void gemm(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        GemmKernel.checkBounds(m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        if (!accumulate) {
            for (int i = 0; i < m; i++) {
                java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            }
        }
        for (int j0 = 0; j0 < n; j0 += NB) {
            int j1 = Math.min(n, j0 + NB);
            for (int p0 = 0; p0 < k; p0 += KB) {
                int p1 = Math.min(k, p0 + KB);
                for (int i = 0; i < m; i++) {
                    int cRow = cOff + i * ldc;
                    int aRow = aOff + i * lda;
                    int p = p0;
                    // Four rows of B per pass over the row of C: a quarter of the loads and stores of C.
                    for (; p + 3 < p1; p += 4) {
                        float a0 = a[aRow + p], a1 = a[aRow + p + 1], a2 = a[aRow + p + 2], a3 = a[aRow + p + 3];
                        int b0 = bOff + p * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
                        for (int j = j0; j < j1; j++) {
                            c[cRow + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
                        }
                    }
                    for (; p < p1; p++) {
                        float aip = a[aRow + p];
                        int bRow = bOff + p * ldb;
                        for (int j = j0; j < j1; j++) {
                            c[cRow + j] += aip * b[bRow + j];
                        }
                    }
                }
            }
        }
    }

    /** A plain view: this kernel reads A in place, so there is nothing to rearrange. */
    private record View(int rows, int cols, float[] a, int off, int ld) implements PackedMatrix {}

    @Override
    public PackedMatrix pack(int m, int k, float[] a, int aOff, int lda) {
        GemmKernel.checkMatrix("A", m, k, a, aOff, lda);
        return new View(m, k, a, aOff, lda);
    }

    @Override
    public void gemm(PackedMatrix a, int n, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                     boolean accumulate) {
        if (!(a instanceof View v)) {
            throw new IllegalArgumentException("gemm: A was packed by another kernel (" + a.getClass().getName() + ")");
        }
        gemm(v.rows, n, v.cols, v.a, v.off, v.ld, b, bOff, ldb, c, cOff, ldc, accumulate);
    }
}
