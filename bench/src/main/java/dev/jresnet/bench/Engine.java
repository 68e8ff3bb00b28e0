package dev.jresnet.bench;

import dev.jresnet.tensor.Tensor;

/**
 * One thing the harness times: jresnet itself or a peer. The harness calls {@link #load} once per batch size,
 * then {@link #run} many times, interleaved with the other engines.
 */
interface Engine extends AutoCloseable {
    /** "jresnet", "onnxruntime" or "pytorch". */
    String name();

    /** Version, threads and settings, for the run's metadata. */
    String detail();

    /** Threads this engine computes with, as configured (not necessarily as the OS schedules them). */
    int threads();

    /** Makes {@code input} [N,3,H,W] the batch that {@link #run} computes; called outside any timing. */
    void load(Tensor input) throws Exception;

    /**
     * Computes the loaded batch once and returns how long the computation took, in seconds, measured by the
     * engine as close to the computation as it can (a subprocess measures inside itself, so the pipe is not
     * counted). With {@code keepLogits} the logits are kept for {@link #logits()}, copied outside the timing.
     */
    double run(boolean keepLogits) throws Exception;

    /** The logits [N*classes] of the last run with keepLogits. */
    float[] logits();

    @Override
    void close();
}
