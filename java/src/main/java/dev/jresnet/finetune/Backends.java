package dev.jresnet.finetune;

import dev.jresnet.cuda.CudaAvailability;
import dev.jresnet.cuda.train.GpuTrainDevice;
import dev.jresnet.graph.Network;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.DeviceUnavailableException;
import dev.jresnet.tensor.Precision;
import dev.jresnet.train.Optimizer;
import dev.jresnet.train.Trainer;
import dev.jresnet.train.Unfreeze;

/** Which {@link Trainer} fine-tunes on which {@link Device}: the CPU reference ops, or the GPU twins on CUDA. */
public final class Backends {
    private Backends() {}

    /**
     * A trainer of {@code net} (which becomes its host model) on {@code device}, fp32, with {@code optimizer}'s kind,
     * hyperparameters and state.
     */
    public static Trainer<?> create(Device device, Network net, Unfreeze unfreeze, boolean trainBn, Optimizer optimizer,
                                    float labelSmoothing, float clipGradNorm) {
        checkDevice(device);
        return switch (device.kind()) {
            case CPU -> Trainer.cpu(net, unfreeze, trainBn, optimizer, labelSmoothing, clipGradNorm);
            case CUDA -> GpuTrainDevice.trainer(net, unfreeze, trainBn, optimizer, labelSmoothing, clipGradNorm,
                    device.index(), Precision.FP32);
        };
    }

    /**
     * Throws {@link DeviceUnavailableException} saying why (one line) when fine-tuning cannot run on {@code device}:
     * before anything is loaded, so a run that cannot start fails at once. For CUDA that is when the GPU engine is
     * unusable (no driver, device, cuDNN, cuBLAS or NVRTC) or has no device of that index.
     */
    public static void checkDevice(Device device) {
        if (device == null) {
            throw new IllegalArgumentException("device must not be null");
        }
        if (device.kind() == Device.Kind.CUDA) {
            CudaAvailability.Status s = CudaAvailability.backendStatus();
            if (!s.usable()) {
                throw new DeviceUnavailableException("cannot fine-tune on " + device + ": CUDA is unusable ("
                        + s.reason() + "); " + CudaAvailability.installHint(s.reason())
                        + "; fine-tune on the CPU instead");
            }
            if (device.index() >= s.deviceCount()) {
                throw new DeviceUnavailableException("cannot fine-tune on " + device + ": there "
                        + (s.deviceCount() == 1 ? "is 1 CUDA device" : "are " + s.deviceCount() + " CUDA devices")
                        + " (cuda:0" + (s.deviceCount() > 1 ? " to cuda:" + (s.deviceCount() - 1) : "")
                        + "); pick one of those or fine-tune on the CPU");
            }
        }
    }
}
