package dev.jresnet.bench;

import dev.jresnet.cpu.Gemm;
import dev.jresnet.cpu.Parallel;
import dev.jresnet.cuda.DeviceTensor;
import dev.jresnet.graph.CpuConvolution;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Tensor;

import java.nio.FloatBuffer;

/**
 * jresnet's own forward pass, in this JVM. On the CPU: {@code model.forward(input)}. On CUDA, as the PyTorch peer
 * times {@code model(x)} on a tensor already on the GPU: the batch is uploaded once per batch size into a device
 * tensor, and what is timed is {@code model.logits(deviceIn, deviceOut)} (the whole forward pass, a CUDA graph
 * replay after the first runs, returning when the stream is done), with no host copies.
 */
final class JResNetEngine implements Engine {
    private final ResNet model;
    private final boolean cuda;
    private Tensor input;
    private DeviceTensor deviceIn;
    private DeviceTensor deviceOut;
    private float[] logits;

    JResNetEngine(ResNet model) {
        this.model = model;
        this.cuda = model.device().kind() == Device.Kind.CUDA;
    }

    @Override
    public String name() {
        return "jresnet";
    }

    @Override
    public String detail() {
        return cuda ? model.deviceDescription()
                : "cpu, kernel " + Gemm.kernelName() + ", " + CpuConvolution.chosen().describe() + ", "
                        + Parallel.threads() + " threads";
    }

    @Override
    public int threads() {
        return Parallel.threads();
    }

    @Override
    public void load(Tensor in) {
        this.input = in;
        if (cuda) {
            closeDevice();
            int n = in.dim(0);
            deviceIn = model.allocateInput(n);
            deviceOut = model.allocateOutput(n);
            deviceIn.upload(FloatBuffer.wrap(in.data()));
        }
    }

    @Override
    public double run(boolean keepLogits) {
        if (cuda) {
            long t0 = System.nanoTime();
            model.logits(deviceIn, deviceOut); // returns after the stream is synchronised
            long t1 = System.nanoTime();
            if (keepLogits) {
                logits = deviceOut.toArray();
            }
            return (t1 - t0) / 1e9;
        }
        long t0 = System.nanoTime();
        Tensor out = model.forward(input);
        long t1 = System.nanoTime();
        if (keepLogits) {
            logits = out.data().clone();
        }
        return (t1 - t0) / 1e9;
    }

    @Override
    public float[] logits() {
        return logits;
    }

    private void closeDevice() {
        if (deviceIn != null) {
            deviceIn.close();
            deviceIn = null;
        }
        if (deviceOut != null) {
            deviceOut.close();
            deviceOut = null;
        }
    }

    /** The model belongs to the caller, who closes it; the device tensors are this engine's. */
    @Override
    public void close() {
        closeDevice();
    }
}
