package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@link TrainingBackend} on the CPU reference ops: {@link TrainableResNet}, an {@link Optimizer}, clipping. */
public final class CpuTrainingBackend implements TrainingBackend {
    private final TrainableResNet net;
    private final Optimizer optimizer;
    private final float labelSmoothing;
    private final float clipGradNorm;
    private final String description;

    /** {@code clipGradNorm} 0 means no clipping. */
    public CpuTrainingBackend(TrainableResNet net, Optimizer optimizer, float labelSmoothing, float clipGradNorm,
                              String description) {
        TrainingBackend.checkSettings(net, optimizer, labelSmoothing, clipGradNorm);
        this.net = net;
        this.optimizer = optimizer;
        this.labelSmoothing = labelSmoothing;
        this.clipGradNorm = clipGradNorm;
        this.description = description;
    }

    public TrainableResNet net() {
        return net;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public Tensor frozenFeatures(Tensor images) {
        return net.forwardFrozen(images);
    }

    @Override
    public StepResult trainStep(Tensor input, boolean fromFrozen, int[] labels, float lr) {
        net.zeroGrad();
        Tensor logits = fromFrozen ? net.forwardFromFrozen(input) : net.forwardTrain(input);
        Tensor dLogits = Tensor.zeros(logits.shape());
        float loss = CpuGrads.softmaxCrossEntropy(dLogits, logits, labels, labelSmoothing);
        net.backward(dLogits);
        if (!Float.isFinite(loss)) {
            return new StepResult(loss, logits, Float.NaN);
        }
        float norm = clipGradNorm > 0 ? GradClipping.clipGlobalNorm(net.parameters(), clipGradNorm) : Float.NaN;
        optimizer.step(net.parameters(), lr);
        return new StepResult(loss, logits, norm);
    }

    @Override
    public Tensor evalLogits(Tensor input, boolean fromFrozen) {
        return fromFrozen ? net.evalFromFrozen(input) : net.evalLogits(input);
    }

    @Override
    public Map<String, Tensor> weights() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        net.graph().visitTensors((name, t, kind) -> out.put(name, t));
        return out;
    }

    @Override
    public void loadWeights(Map<String, Tensor> weights) {
        Map<String, Tensor> targets = weights();
        TrainingBackend.copyWeights(targets, weights);
    }

    @Override
    public Optimizer optimizer() {
        return optimizer;
    }
}
