package dev.jresnet.cpu;

/**
 * Chooses the GEMM kernel for this JVM and runs it in parallel.
 *
 * <p>The Vector API kernel is used when the jdk.incubator.vector module is in the boot layer (the JVM
 * was started with {@code --add-modules jdk.incubator.vector}) and the system property
 * {@code jresnet.cpu.kernel} is not {@code plain}. It is loaded by name, so a JVM without the module
 * never links {@link VectorGemm} and never fails on its missing imports.
 */
public final class Gemm {
    private Gemm() {}

    /** Initialised on first use (the holder idiom), so reading the property happens once, lazily. */
    private static final class Active {
        static final GemmKernel KERNEL = choose();
    }

    private static GemmKernel choose() {
        return choose(System.getProperty("jresnet.cpu.kernel", "auto"),
                ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent());
    }

    /** The kernel for a value of jresnet.cpu.kernel (auto, vector or plain) and the module's presence. */
    static GemmKernel choose(String wanted, boolean vectorModule) {
        switch (wanted) {
            case "plain":
                return new PlainGemm();
            case "auto":
            case "vector":
                if (vectorModule) {
                    return loadVector();
                }
                if (wanted.equals("vector")) {
                    throw new IllegalStateException("jresnet.cpu.kernel=vector needs the JVM option "
                            + "--add-modules jdk.incubator.vector");
                }
                return new PlainGemm();
            default:
                throw new IllegalArgumentException("jresnet.cpu.kernel must be auto, vector or plain, found \""
                        + wanted + "\"");
        }
    }

    private static GemmKernel loadVector() {
        try {
            return (GemmKernel) Class.forName("dev.jresnet.cpu.VectorGemm").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot load the Vector API GEMM kernel", e);
        }
    }

    /** The kernel every op uses. */
    public static GemmKernel kernel() {
        return Active.KERNEL;
    }

    /** The active kernel's name, e.g. "plain" or "vector-256bit-6x16". */
    public static String kernelName() {
        return kernel().name();
    }

    /** C[m,n] (+)= A[m,k] · B[k,n] with the active kernel, on all threads. */
    public static void gemm(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc, boolean accumulate) {
        parallel(kernel(), m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
    }

    /**
     * C[m,n] (+)= A[m,k] · B[k,n] with the given kernel, split over threads: by column chunks when N is
     * wide (each thread shares the packed A), by row blocks otherwise (as for a fully connected layer,
     * where N is the batch).
     */
    public static void parallel(GemmKernel kernel, int m, int n, int k, float[] a, int aOff, int lda,
                                float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        GemmKernel.checkBounds(m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        int threads = Parallel.threads();
        long flops = 2L * m * n * k;
        if (threads == 1 || flops < 2_000_000) { // below ~20 us of work the fork costs more than it saves
            kernel.gemm(m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
            return;
        }
        int parts = 2 * threads; // two per thread evens out chunks that finish at different times
        if (n >= m) {
            GemmKernel.PackedMatrix packed = kernel.pack(m, k, a, aOff, lda);
            int chunk = roundUp(ceilDiv(n, parts), 64);
            Parallel.forEach(ceilDiv(n, chunk), t -> {
                int j0 = t * chunk;
                int cols = Math.min(chunk, n - j0);
                kernel.gemm(packed, cols, b, bOff + j0, ldb, c, cOff + j0, ldc, accumulate);
            });
        } else {
            int chunk = roundUp(ceilDiv(m, parts), 16);
            Parallel.forEach(ceilDiv(m, chunk), t -> {
                int i0 = t * chunk;
                int rows = Math.min(chunk, m - i0);
                kernel.gemm(rows, n, k, a, aOff + i0 * lda, lda, b, bOff, ldb, c, cOff + i0 * ldc, ldc, accumulate);
            });
        }
    }

    static int ceilDiv(int x, int y) {
        return (x + y - 1) / y;
    }

    static int roundUp(int x, int multiple) {
        return ceilDiv(x, multiple) * multiple;
    }
}
