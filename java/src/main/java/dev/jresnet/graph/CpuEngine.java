package dev.jresnet.graph;

import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.tensor.Tensor;

/**
 * A CPU executor of a network's {@link NetworkSpec#fused() fused} description for inference: jresnet's own Java
 * engine ({@link CpuInference}) or a native one (oneDNN's, {@code dev.jresnet.dnnl}). Thread-safe; close it when done
 * (the Java engine holds nothing to free, a native one holds native memory).
 */
public interface CpuEngine extends AutoCloseable {
    /** Logits [N, classes] of a normalised batch x [N, 3, H, W] (H, W >= 32). */
    Tensor forward(Tensor x);

    /**
     * As {@link #forward(Tensor)}, telling {@code listener} each step of the fused description as it finishes, with
     * its wall time (the kernel lab's profile).
     */
    Tensor forward(Tensor x, StepListener listener);

    /** The pooled features [N, C] the classifier sees. */
    Tensor features(Tensor x);

    /** The output of the fused description's steps [0, end), a new tensor ([N, C, h, w] at a stage's end). */
    Tensor forwardTo(Tensor x, int end);

    /** The description this runs (the fused one). */
    NetworkSpec spec();

    /** Which engine and kernels run, for device descriptions ("oneDNN 3.11.0, avx512_core_bf16 kernels"). */
    String describe();

    @Override
    void close();
}
