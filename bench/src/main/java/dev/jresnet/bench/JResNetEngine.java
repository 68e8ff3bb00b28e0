package dev.jresnet.bench;

import dev.jresnet.cpu.Gemm;
import dev.jresnet.cpu.Parallel;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet50;
import dev.jresnet.tensor.Tensor;

/** jresnet's own forward pass, in this JVM. */
final class JResNetEngine implements Engine {
    private final ResNet50 model;
    private Tensor input;
    private float[] logits;

    JResNetEngine(ResNet50 model) {
        this.model = model;
    }

    @Override
    public String name() {
        return "jresnet";
    }

    @Override
    public String detail() {
        return model.device().kind() == Device.Kind.CPU
                ? "cpu, kernel " + Gemm.kernelName() + ", " + Parallel.threads() + " threads"
                : model.device().toString();
    }

    @Override
    public int threads() {
        return Parallel.threads();
    }

    @Override
    public void load(Tensor in) {
        this.input = in;
    }

    @Override
    public double run(boolean keepLogits) {
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

    /** The model belongs to the caller, who closes it. */
    @Override
    public void close() {}
}
