package dev.jresnet.cpu;

/**
 * A single-threaded float32 matrix multiply, row-major with leading dimensions:
 * {@code C[m,n] = A[m,k] · B[k,n]}, or {@code C += A·B} when {@code accumulate}.
 * Element {@code (i,j)} of X lives at {@code x[xOff + i*ldx + j]}.
 *
 * <p>Implementations are stateless apart from per-thread scratch, so one instance serves every thread.
 * Parallelism lives one level up ({@link Gemm#parallel}, {@link CpuOps#conv2d}), because callers know
 * better than the kernel how to split their work (by image, by column chunk, by row block).
 */
public interface GemmKernel {

    /** A short name for logs and the CLI ("plain", "vector-256x6"...). */
    String name();

    /** C[m,n] (+)= A[m,k] · B[k,n]. */
    void gemm(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
              float[] c, int cOff, int ldc, boolean accumulate);

    /**
     * Prepares A[m,k] for repeated use as the left operand. Convolution weights are the left operand
     * of every image and every column chunk; rearranging them once per call rather than once per
     * chunk is what keeps small-image layers (ResNet's 7x7 stage) from spending their time packing.
     * The result may be a copy or a view: A must not change while it is in use.
     */
    PackedMatrix pack(int m, int k, float[] a, int aOff, int lda);

    /** C[a.rows(), n] (+)= A · B[a.cols(), n], with A prepared by this kernel's {@link #pack}. */
    void gemm(PackedMatrix a, int n, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate);

    /** A left operand prepared by {@link #pack}; its layout is private to the kernel that made it. */
    interface PackedMatrix {
        int rows();

        int cols();
    }

    /** Throws unless every index the multiply touches lies inside its array. */
    static void checkBounds(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: negative size m=" + m + " n=" + n + " k=" + k);
        }
        checkMatrix("A", m, k, a, aOff, lda);
        checkMatrix("B", k, n, b, bOff, ldb);
        checkMatrix("C", m, n, c, cOff, ldc);
    }

    static void checkMatrix(String what, int rows, int cols, float[] x, int off, int ld) {
        if (rows == 0 || cols == 0) {
            return;
        }
        if (ld < cols) {
            throw new IllegalArgumentException("gemm: " + what + " is " + rows + "x" + cols
                    + " but its leading dimension is " + ld);
        }
        long last = off + (long) (rows - 1) * ld + cols - 1;
        if (off < 0 || last >= x.length) {
            throw new IllegalArgumentException("gemm: " + what + " " + rows + "x" + cols + " at offset " + off
                    + " with leading dimension " + ld + " needs " + (last + 1) + " elements, array has " + x.length);
        }
    }
}
