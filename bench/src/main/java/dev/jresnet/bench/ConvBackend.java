package dev.jresnet.bench;

import java.util.List;

/**
 * A way of running convolutions that the kernel lab can check and time: the CPU's GEMM kernels now, cuDNN's
 * forward algorithms when the CUDA backend exists. Each backend is one section of the lab's table.
 */
interface ConvBackend {
    /** The section title, e.g. "cpu" or "cuda:0 (cuDNN)". */
    String section();

    /** The algorithms to compare; exactly one is {@link ConvAlgorithm#reference()}, which the others are checked against. */
    List<ConvAlgorithm> algorithms();

    interface ConvAlgorithm {
        /** E.g. "plain", "vector-256bit-6x16", later "IMPLICIT_PRECOMP_GEMM". */
        String name();

        /** Whether the engine uses this one for its forward pass (marked in the table). */
        boolean inUse();

        /** The one the others are validated against (the simplest, most obviously correct one). */
        boolean reference();

        /** Allocates what {@code shape} at {@code batch} needs, with the given (shared, seeded) input and weights. */
        Prepared prepare(ConvShape shape, int batch, float[] input, float[] weight);
    }

    /** A convolution ready to run: inputs in place, output allocated. */
    interface Prepared extends AutoCloseable {
        /** Runs once and returns the seconds it took. */
        double run() throws Exception;

        /** The output [N,K,P,Q] of the last run, on the host. */
        float[] output() throws Exception;

        @Override
        default void close() {}
    }
}
