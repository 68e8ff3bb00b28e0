package dev.jresnet.cuda.train;

import dev.jresnet.cuda.InferencePrecision;
import dev.jresnet.resnet.Device;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.Optimizer;
import dev.jresnet.train.Parameter;
import dev.jresnet.train.TrainableResNet;
import dev.jresnet.train.TrainingBackend;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link TrainingBackend} on a GPU: a {@link CudaTrainableResNet} and a {@link GpuOptimizer}, both owned. Batches
 * arrive and results leave as host tensors; the device copy of the model is the live one, and {@link #weights()}
 * downloads it. {@link #optimizer()} is a view of the device optimizer whose {@link Optimizer#state()} and
 * {@link Optimizer#loadState} use the Java optimizers' keys, so checkpoints move between CPU and GPU.
 */
public final class CudaTrainingBackend implements TrainingBackend {
    private final CudaTrainableResNet net;
    private final GpuOptimizer optimizer;
    private final Optimizer optimizerView;
    private final float labelSmoothing;
    private final float clipGradNorm;

    /**
     * Takes ownership of {@code net} and {@code optimizer}. Same settings as
     * {@link dev.jresnet.train.CpuTrainingBackend}: label smoothing in [0, 1), {@code clipGradNorm} 0 means no
     * clipping.
     */
    public CudaTrainingBackend(CudaTrainableResNet net, GpuOptimizer optimizer, float labelSmoothing,
                               float clipGradNorm) {
        TrainingBackend.checkSettings(net, optimizer, labelSmoothing, clipGradNorm);
        this.net = net;
        this.optimizer = optimizer;
        this.labelSmoothing = labelSmoothing;
        this.clipGradNorm = clipGradNorm;
        this.optimizerView = new OptimizerView();
    }

    /**
     * The GPU twin of {@code new CpuTrainingBackend(net, optimizer, ...)} on {@code device}: {@code net}'s graph
     * (which becomes the host copy of the model) uploaded with the same unfreeze and BatchNorm mode in fp32, and
     * {@code optimizer}'s kind, hyperparameters and state on the device.
     */
    public static CudaTrainingBackend create(Device device, TrainableResNet net, Optimizer optimizer,
                                             float labelSmoothing, float clipGradNorm) {
        if (device == null || device.kind() != Device.Kind.CUDA) {
            throw new IllegalArgumentException("a CUDA device is needed, got " + device);
        }
        if (net == null || optimizer == null) {
            throw new IllegalArgumentException("net and optimizer must not be null");
        }
        GpuOptimizer gpuOptimizer = GpuOptimizer.from(optimizer);
        CudaTrainableResNet gpuNet = null;
        try {
            gpuNet = CudaTrainableResNet.create(net.graph(), net.unfreeze(), net.trainBn(), device.index(),
                    InferencePrecision.FP32);
            return new CudaTrainingBackend(gpuNet, gpuOptimizer, labelSmoothing, clipGradNorm);
        } catch (RuntimeException | Error e) {
            gpuOptimizer.close();
            if (gpuNet != null) {
                gpuNet.close();
            }
            throw e;
        }
    }

    public CudaTrainableResNet net() {
        return net;
    }

    /** The device optimizer itself (see {@link #optimizer()} for the checkpoint view). */
    public GpuOptimizer gpuOptimizer() {
        return optimizer;
    }

    @Override
    public String description() {
        return net.describe();
    }

    @Override
    public Tensor frozenFeatures(Tensor images) {
        return net.forwardFrozen(images);
    }

    @Override
    public StepResult trainStep(Tensor input, boolean fromFrozen, int[] labels, float lr) {
        float clip = clipGradNorm > 0 ? clipGradNorm : Float.NaN;
        CudaTrainableResNet.StepResult r = fromFrozen
                ? net.trainStepFromFrozen(input, labels, lr, optimizer, labelSmoothing, clip)
                : net.trainStep(input, labels, lr, optimizer, labelSmoothing, clip);
        return new StepResult(r.loss(), r.logits(), r.gradNorm());
    }

    @Override
    public Tensor evalLogits(Tensor input, boolean fromFrozen) {
        return fromFrozen ? net.evalFromFrozen(input) : net.evalLogits(input);
    }

    /** Every model tensor, downloaded into the host graph first (the live tensors of {@code net.graph()}). */
    @Override
    public Map<String, Tensor> weights() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        net.syncToGraph().visitTensors((name, t, kind) -> out.put(name, t));
        return out;
    }

    @Override
    public void loadWeights(Map<String, Tensor> weights) {
        Map<String, Tensor> targets = new LinkedHashMap<>();
        net.graph().visitTensors((name, t, kind) -> targets.put(name, t));
        TrainingBackend.copyWeights(targets, weights);
        net.uploadAllFromGraph();
    }

    @Override
    public Optimizer optimizer() {
        return optimizerView;
    }

    @Override
    public void close() {
        try {
            optimizer.close();
        } finally {
            net.close();
        }
    }

    /** The device optimizer as an {@link Optimizer} for checkpoints: its steps happen inside {@link #trainStep}. */
    private final class OptimizerView implements Optimizer {
        @Override
        public void step(List<Parameter> params, float lr) {
            throw new UnsupportedOperationException("the GPU optimizer (" + optimizer.describe() + ") updates the "
                    + "device parameters inside CudaTrainingBackend.trainStep; it cannot step host parameters");
        }

        @Override
        public Map<String, Tensor> state() {
            Map<String, Shape> shapes = new HashMap<>();
            for (DeviceParameter p : net.parameters()) {
                shapes.put(p.name(), p.shape());
            }
            return optimizer.state(net.ops().stream(), shapes);
        }

        @Override
        public void loadState(Map<String, Tensor> state) {
            optimizer.loadState(net.ops().stream(), state);
        }

        @Override
        public String describe() {
            return optimizer.describe();
        }

        @Override
        public String toString() {
            return optimizer.toString();
        }
    }
}
