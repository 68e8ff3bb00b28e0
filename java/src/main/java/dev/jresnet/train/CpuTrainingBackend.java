package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.tensor.Tensor;

import java.util.Map;

/**
 * {@link TrainingBackend} on the CPU: {@link TrainableResNet}, {@link CpuGrads#softmaxCrossEntropy},
 * {@link GradClipping} and a Java {@link Optimizer}, exactly the reference computation.
 */
public final class CpuTrainingBackend implements TrainingBackend {
    private final TrainableResNet net;
    private final Optimizer optimizer;
    private final float labelSmoothing;
    private final float maxGradNorm;

    /** {@code maxGradNorm} <= 0 or NaN turns clipping off. */
    public CpuTrainingBackend(TrainableResNet net, Optimizer optimizer, float labelSmoothing, float maxGradNorm) {
        if (net == null || optimizer == null) {
            throw new IllegalArgumentException("net and optimizer must not be null");
        }
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1], found " + labelSmoothing);
        }
        this.net = net;
        this.optimizer = optimizer;
        this.labelSmoothing = labelSmoothing;
        this.maxGradNorm = maxGradNorm;
    }

    public TrainableResNet net() {
        return net;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    @Override
    public String describe() {
        return "cpu (unfreeze " + net.unfreeze().id() + (net.trainBn() ? ", train BatchNorm" : "") + ", "
                + optimizer.describe() + ")";
    }

    @Override
    public TrainableResNet.Unfreeze unfreeze() {
        return net.unfreeze();
    }

    @Override
    public int numClasses() {
        return net.numClasses();
    }

    @Override
    public Step trainStep(Tensor images, int[] labels, float lr) {
        net.zeroGrad();
        return finish(net.forwardTrain(images), labels, lr);
    }

    @Override
    public Step trainStepFromFrozen(Tensor frozen, int[] labels, float lr) {
        net.zeroGrad();
        return finish(net.forwardFromFrozen(frozen), labels, lr);
    }

    private Step finish(Tensor logits, int[] labels, float lr) {
        Tensor d = Tensor.zeros(logits.shape());
        float loss = CpuGrads.softmaxCrossEntropy(d, logits, labels, labelSmoothing);
        net.backward(d);
        float norm = maxGradNorm > 0 ? GradClipping.clipGlobalNorm(net.parameters(), maxGradNorm) : Float.NaN;
        optimizer.step(net.parameters(), lr);
        return new Step(loss, logits, norm);
    }

    @Override
    public Tensor forwardFrozen(Tensor images) {
        return net.forwardFrozen(images);
    }

    @Override
    public Tensor evalLogits(Tensor images) {
        return net.evalLogits(images);
    }

    @Override
    public ResNet50Graph syncedGraph() {
        return net.graph();
    }

    @Override
    public Map<String, Tensor> optimizerState() {
        return optimizer.state();
    }

    @Override
    public void loadOptimizerState(Map<String, Tensor> state) {
        optimizer.loadState(state);
    }

    @Override
    public void close() {
        // nothing native
    }
}
