package dev.jresnet.cpu;

/**
 * Chooses the GEMM kernel for this JVM and runs it in parallel.
 *
 * <p>The Vector API kernel is used when the jdk.incubator.vector module is in the boot layer (the JVM
 * was started with {@code --add-modules jdk.incubator.vector}) and the system property
 * {@code jresnet.cpu.kernel} is not {@code plain}; {@code vector-MRxNR} (e.g. {@code vector-6x32}, optionally
 * with {@code /kcN/ncN}) chooses another register tile and blocking than the default for the vector size
 * (see {@link VectorGemm#defaultTile}), for the kernel lab. It is loaded by name, so a JVM without the module
 * never links {@link VectorGemm} and never fails on its missing imports. Without the module (an application
 * that put the jars on its classpath and nothing more) the plain kernel runs, and the first use says so once,
 * as a {@link System.Logger} WARNING (logger {@code dev.jresnet.cpu.Gemm}), naming the flag and the cost.
 */
public final class Gemm {
    private Gemm() {}

    /**
     * Initialised on first use (the holder idiom), so reading the property happens once, lazily. A bad
     * jresnet.cpu.kernel is kept as the failure and thrown by every {@link #kernel()} call, as an exception that
     * names the property, rather than as an ExceptionInInitializerError once and NoClassDefFoundError after.
     */
    private static final class Active {
        static final GemmKernel KERNEL;
        static final RuntimeException FAILURE;

        static {
            GemmKernel k = null;
            RuntimeException failure = null;
            try {
                k = choose();
            } catch (RuntimeException e) {
                failure = e;
            }
            KERNEL = k;
            FAILURE = failure;
        }
    }

    /**
     * What an application that forgot the flag is told, once per JVM. The cost is measured: resnet50, batch 1, on
     * a 2-core AVX-512 machine, 0.08 s a forward pass with the Vector API (the direct convolution) and 1.8 s with
     * the plain kernel (`jresnet bench`, medians, 2026-11-30).
     */
    static final String SLOW_PATH_WARNING = "jresnet: the JVM was started without --add-modules "
            + "jdk.incubator.vector, so the CPU engine runs its plain Java kernel, about 20x slower (resnet50: 1.8 s "
            + "instead of 0.08 s an image on 2 AVX-512 cores). Add that option to the java command line, or set "
            + "JDK_JAVA_OPTIONS=--add-modules=jdk.incubator.vector; -Djresnet.cpu.kernel=plain chooses the plain "
            + "kernel and silences this.";

    private static GemmKernel choose() {
        return choose(System.getProperty("jresnet.cpu.kernel", "auto"),
                ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
                System.getLogger(Gemm.class.getName()));
    }

    /** The kernel for a value of jresnet.cpu.kernel (auto, vector, vector-MRxNR or plain) and the module's presence. */
    static GemmKernel choose(String wanted, boolean vectorModule) {
        return choose(wanted, vectorModule, null);
    }

    /** As above; {@code log}, when not null, gets the slow-path warning when "auto" falls back to plain. */
    static GemmKernel choose(String wanted, boolean vectorModule, System.Logger log) {
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
                if (log != null) {
                    log.log(System.Logger.Level.WARNING, SLOW_PATH_WARNING);
                }
                return new PlainGemm();
            default:
                if (wanted.startsWith("vector-")) {
                    if (!vectorModule) {
                        throw new IllegalStateException("jresnet.cpu.kernel=" + wanted + " needs the JVM option "
                                + "--add-modules jdk.incubator.vector");
                    }
                    return loadVariant(wanted.substring("vector-".length()));
                }
                throw new IllegalArgumentException("jresnet.cpu.kernel must be auto, vector, vector-MRxNR or plain, "
                        + "found \"" + wanted + "\"");
        }
    }

    private static GemmKernel loadVector() {
        try {
            return (GemmKernel) Class.forName("dev.jresnet.cpu.VectorGemm").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot load the Vector API GEMM kernel", e);
        }
    }

    private static GemmKernel loadVariant(String spec) {
        try {
            return (GemmKernel) Class.forName("dev.jresnet.cpu.VectorGemm").getMethod("variant", String.class)
                    .invoke(null, spec);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot load the Vector API GEMM kernel", e);
        }
    }

    /** The kernel every op uses. */
    public static GemmKernel kernel() {
        if (Active.KERNEL == null) {
            throw new IllegalStateException("jresnet.cpu.kernel=" + System.getProperty("jresnet.cpu.kernel") + ": "
                    + Active.FAILURE.getMessage(), Active.FAILURE);
        }
        return Active.KERNEL;
    }

    /** The active kernel's name, e.g. "plain", "vector-256bit-6x16" or "vector-512bit-12x32". */
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
