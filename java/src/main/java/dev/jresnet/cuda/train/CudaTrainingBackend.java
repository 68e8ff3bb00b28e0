package dev.jresnet.cuda.train;

import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.TrainableResNet;
import dev.jresnet.train.TrainingBackend;

import java.util.HashMap;
import java.util.Map;

/** {@link TrainingBackend} on a GPU: a {@link CudaTrainableResNet} and a {@link GpuOptimizer}, both owned. */
public final class CudaTrainingBackend implements TrainingBackend {
    private final CudaTrainableResNet net;
    private final GpuOptimizer optimizer;
    private final float labelSmoothing;
    private final float maxGradNorm;

    /** Takes ownership of {@code net} and {@code optimizer}; {@code maxGradNorm} <= 0 or NaN: no clipping. */
    public CudaTrainingBackend(CudaTrainableResNet net, GpuOptimizer optimizer, float labelSmoothing, float maxGradNorm) {
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

    public CudaTrainableResNet net() {
        return net;
    }

    @Override
    public String describe() {
        return net.describe() + ", " + optimizer.describe();
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
        CudaTrainableResNet.StepResult r = net.trainStep(images, labels, lr, optimizer, labelSmoothing, maxGradNorm);
        return new Step(r.loss(), r.logits(), r.gradNorm());
    }

    @Override
    public Step trainStepFromFrozen(Tensor frozen, int[] labels, float lr) {
        CudaTrainableResNet.StepResult r = net.trainStepFromFrozen(frozen, labels, lr, optimizer, labelSmoothing,
                maxGradNorm);
        return new Step(r.loss(), r.logits(), r.gradNorm());
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
        return net.syncToGraph();
    }

    @Override
    public Map<String, Tensor> optimizerState() {
        Map<String, Shape> shapes = new HashMap<>();
        for (DeviceParameter p : net.parameters()) {
            shapes.put(p.name(), p.shape());
        }
        return optimizer.state(net.ops().stream(), shapes);
    }

    @Override
    public void loadOptimizerState(Map<String, Tensor> state) {
        optimizer.loadState(net.ops().stream(), state);
    }

    @Override
    public void close() {
        try {
            optimizer.close();
        } finally {
            net.close();
        }
    }
}
