package dev.jresnet.bench;

import java.util.List;

/**
 * A way of running convolutions that the kernel lab can check and time: the CPU's GEMM kernels
 * ({@link CpuConvBackend}) or cuDNN's forward algorithms in one precision ({@link CudaConvBackend}). Each backend is
 * one section of the lab's table.
 *
 * <p>Two ways of checking and timing: a backend with a {@link ConvAlgorithm#reference()} algorithm (the CPU) is
 * checked against it and timed in turns on the wall clock; a backend that {@link #timesAlone()} (a GPU) is checked
 * against {@code CpuOps.conv2d} on the same input and weights, and each of its valid algorithms is then timed by
 * itself with the backend's own clock ({@link Prepared#time}); an algorithm that fails the check is never timed.
 */
interface ConvBackend {
    /** The section title, e.g. "cpu" or "cuda:0 fp16". */
    String section();

    /** The precision the backend computes in: "fp32", "tf32" or "fp16". */
    default String precision() {
        return "fp32";
    }

    /** The algorithms to compare. Without {@link #timesAlone()}, exactly one is the {@link ConvAlgorithm#reference()}. */
    List<ConvAlgorithm> algorithms();

    /** The largest max relative error (see {@code LayerLab.maxRelError}) that still counts as a valid output. */
    default double tolerance() {
        return 1e-5;
    }

    /** True: validated against the CPU reference and timed one algorithm at a time (see the class comment). */
    default boolean timesAlone() {
        return false;
    }

    /**
     * The name of the algorithm the engine uses for {@code shape} at {@code batch} (marked "*" in the table), or
     * null when it uses none of them; by default the first algorithm whose {@link ConvAlgorithm#inUse()} is true.
     * May throw: the lab then reports the reason and marks nothing.
     */
    default String inUse(ConvShape shape, int batch) throws Exception {
        for (ConvAlgorithm a : algorithms()) {
            if (a.inUse()) {
                return a.name();
            }
        }
        return null;
    }

    interface ConvAlgorithm {
        /** E.g. "plain", "vector-256bit-6x16", "IMPLICIT_PRECOMP_GEMM". */
        String name();

        /** Whether the engine uses this one for its forward pass whatever the shape (the CPU's kernel). */
        default boolean inUse() {
            return false;
        }

        /** The one the others are validated against (the simplest, most obviously correct one). */
        default boolean reference() {
            return false;
        }

        /**
         * Allocates what {@code shape} at {@code batch} needs, with the given (shared, seeded) input [N,C,H,W] and
         * weights [K,C,R,R]; throws {@link Unsupported} when the algorithm cannot run this shape.
         */
        Prepared prepare(ConvShape shape, int batch, float[] input, float[] weight) throws Exception;
    }

    /** A convolution ready to run: inputs in place, output allocated. */
    interface Prepared extends AutoCloseable {
        /** Runs once (synchronously) and returns the seconds it took on the wall clock. */
        double run() throws Exception;

        /** The output [N,K,P,Q] of the last run, on the host. */
        float[] output() throws Exception;

        /** Bytes of workspace the algorithm needs for this shape; -1 where the notion does not apply (CPU). */
        default long workspaceBytes() {
            return -1;
        }

        /**
         * {@code warmup} untimed runs, then the seconds of each of {@code runs} timed runs, on the backend's clock
         * (CUDA events on a GPU). By default the wall-clock times of {@link #run()}.
         */
        default double[] time(int warmup, int runs) throws Exception {
            for (int i = 0; i < warmup; i++) {
                run();
            }
            double[] s = new double[runs];
            for (int i = 0; i < runs; i++) {
                s[i] = run();
            }
            return s;
        }

        @Override
        default void close() {}
    }

    /** The algorithm does not apply to this shape (cuDNN: no workspace size, or a NOT_SUPPORTED status). */
    final class Unsupported extends Exception {
        private static final long serialVersionUID = 1L;

        Unsupported(String reason) {
            super(reason);
        }
    }
}
