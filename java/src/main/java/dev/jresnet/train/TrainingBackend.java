package dev.jresnet.train;

import dev.jresnet.tensor.Tensor;

import java.util.Map;

/**
 * The arithmetic of fine-tuning on one device: the frozen prefix's features, one optimizer step, inference
 * logits, and the model and optimizer state as host tensors. {@code FineTuner} owns everything else (data,
 * schedule, metrics, checkpoints, the feature cache) and talks to the device only through this interface.
 *
 * <p><b>Devices.</b> {@link Trainer} implements it for every device (the CPU's {@link CpuTrainDevice} or the GPU's
 * twin) with one contract: batches arrive as host tensors (NCHW float32, or the frozen features
 * {@link #frozenFeatures} returned), results leave as host tensors, and {@link #weights()} / {@link #optimizer()}
 * give host copies for checkpoints and the output model.
 *
 * <p>"Input" is either an image batch {@code [N,3,H,W]} ({@code fromFrozen} false) or a batch of
 * {@link #frozenFeatures} rows ({@code fromFrozen} true). A backend is used from one thread.
 */
public interface TrainingBackend extends AutoCloseable {
    /** What one optimizer step gave: the mean training loss, the training forward's logits [N, classes]. */
    record StepResult(float loss, Tensor logits, float gradNorm) {}

    /** Which device and why, for the log. */
    String description();

    /** The inference-mode output of the frozen prefix (the value entering the first trainable stage), on the host. */
    Tensor frozenFeatures(Tensor images);

    /**
     * Zeroes the gradients, runs the training forward and the cross-entropy with the backend's label smoothing,
     * back-propagates, clips the gradients when the backend was made with a limit, and steps the optimizer with
     * {@code lr}. A non-finite loss is returned without stepping, so the caller can stop with the weights intact.
     */
    StepResult trainStep(Tensor input, boolean fromFrozen, int[] labels, float lr);

    /** Inference-mode logits [N, classes] (every BatchNorm on its running statistics). */
    Tensor evalLogits(Tensor input, boolean fromFrozen);

    /** Every model tensor (parameters and BatchNorm running statistics) under its torchvision name, on the host. */
    Map<String, Tensor> weights();

    /** Replaces every model tensor with {@code weights} (same names and shapes as {@link #weights()}). */
    void loadWeights(Map<String, Tensor> weights);

    /** The optimizer, whose {@link Optimizer#state()} and {@link Optimizer#loadState} go into checkpoints. */
    Optimizer optimizer();

    @Override
    default void close() {}

    /**
     * Copies {@code weights} into {@code targets} (the live model tensors, by name) after checking that both hold
     * exactly the same names and shapes; nothing is copied when anything is off, and every problem is named.
     */
    static void copyWeights(Map<String, Tensor> targets, Map<String, Tensor> weights) {
        StringBuilder problems = new StringBuilder();
        for (Map.Entry<String, Tensor> e : targets.entrySet()) {
            Tensor src = weights.get(e.getKey());
            if (src == null) {
                problems.append("; missing ").append(e.getKey());
            } else if (!src.shape().equals(e.getValue().shape())) {
                problems.append("; ").append(e.getKey()).append(" has shape ").append(src.shape()).append(", expected ")
                        .append(e.getValue().shape());
            }
        }
        for (String k : weights.keySet()) {
            if (!targets.containsKey(k)) {
                problems.append("; unexpected ").append(k);
            }
        }
        if (problems.length() > 0) {
            throw new IllegalArgumentException("weights do not fit the model being trained: " + problems.substring(2));
        }
        for (Map.Entry<String, Tensor> e : targets.entrySet()) {
            float[] src = weights.get(e.getKey()).data();
            System.arraycopy(src, 0, e.getValue().data(), 0, src.length);
        }
    }

    /** The settings every backend validates alike: label smoothing in [0, 1), clipping norm finite and >= 0 (0: off). */
    static void checkSettings(Object net, Object optimizer, float labelSmoothing, float clipGradNorm) {
        if (net == null || optimizer == null) {
            throw new IllegalArgumentException("net and optimizer must not be null");
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + labelSmoothing);
        }
        if (!(clipGradNorm >= 0) || !Float.isFinite(clipGradNorm)) {
            throw new IllegalArgumentException("gradient clipping norm must be finite and >= 0 (0: off), got "
                    + clipGradNorm);
        }
    }
}
