package dev.jresnet.train;

import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.tensor.Tensor;

import java.util.Map;

/**
 * Where a fine-tuning loop runs its steps: the CPU ({@link CpuTrainingBackend}, over {@link TrainableResNet} and
 * a Java {@link Optimizer}) or a GPU ({@code dev.jresnet.cuda.train.CudaTrainingBackend}). Both compute the same
 * thing: zero the gradients, training forward, mean softmax cross-entropy with label smoothing, backward,
 * optional global-norm clipping, optimizer update. A loop picks one by device and calls only this.
 *
 * <p>Not thread-safe; one loop per backend. {@link #close()} frees device memory (nothing on the CPU).
 */
public interface TrainingBackend extends AutoCloseable {
    /** What one step did: the mean loss, the logits [N, classes] (for training metrics), and the gradient norm
     * before clipping (NaN when clipping is off). */
    record Step(float loss, Tensor logits, float gradNorm) {}

    /** Which device, precision and freezing, for logs ("cpu", "cuda (GPU 0: ..., fp32, unfreeze layer4)"). */
    String describe();

    TrainableResNet.Unfreeze unfreeze();

    int numClasses();

    /** One step on images [N, 3, H, W] with class labels and learning rate {@code lr}. */
    Step trainStep(Tensor images, int[] labels, float lr);

    /** One step from {@link #forwardFrozen}'s output (the feature cache). */
    Step trainStepFromFrozen(Tensor frozen, int[] labels, float lr);

    /** The frozen prefix's output in inference mode; fixed for fixed weights, so it may be cached. */
    Tensor forwardFrozen(Tensor images);

    /** Inference-mode logits [N, classes] (every BatchNorm on its running statistics). */
    Tensor evalLogits(Tensor images);

    /** The current model, every tensor up to date on the host (a GPU backend downloads its trainable stages). */
    ResNet50Graph syncedGraph();

    /** The optimizer state in {@link Optimizer#state()}'s keys, for checkpoints. */
    Map<String, Tensor> optimizerState();

    /** Replaces the optimizer state (as {@link #optimizerState()} returned it). */
    void loadOptimizerState(Map<String, Tensor> state);

    @Override
    void close();
}
