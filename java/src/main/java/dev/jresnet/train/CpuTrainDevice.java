package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.cpu.CpuOps;
import dev.jresnet.cpu.Gemm;
import dev.jresnet.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/** {@link TrainDevice} on the CPU reference ops ({@link CpuOps}, {@link CpuGrads}) and a Java {@link Optimizer}. */
public final class CpuTrainDevice implements TrainDevice<Tensor> {
    private final Optimizer optimizer;
    private final String description;
    private final Map<List<Param<Tensor>>, List<Parameter>> parameters = new IdentityHashMap<>();

    public CpuTrainDevice(Optimizer optimizer, String description) {
        if (optimizer == null) {
            throw new IllegalArgumentException("optimizer must not be null");
        }
        this.optimizer = optimizer;
        this.description = description != null ? description : "cpu (kernel " + Gemm.kernelName() + ")";
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public Tensor allocate(String purpose, int... dims) {
        return Tensor.zeros(dims);
    }

    @Override
    public Tensor adopt(Tensor host, String name) {
        return host;
    }

    @Override
    public void upload(Tensor dst, Tensor src) {
        src.shape().require(dst.shape(), "upload");
        if (dst.data() != src.data()) {
            System.arraycopy(src.data(), 0, dst.data(), 0, src.size());
        }
    }

    @Override
    public void download(Tensor src, Tensor dst) {
        upload(dst, src);
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        upload(dst, src);
    }

    @Override
    public void zero(Tensor t) {
        Arrays.fill(t.data(), 0f);
    }

    @Override
    public void free(Tensor t) {
        // the garbage collector's
    }

    @Override
    public void conv2d(Tensor out, Tensor in, Tensor weight, int stride, int pad, int groups) {
        CpuOps.conv2d(out, in, weight, null, stride, pad, groups);
    }

    @Override
    public void batchNorm(Tensor out, Tensor in, Tensor gamma, Tensor beta, Tensor mean, Tensor var, float eps,
                          boolean relu) {
        CpuOps.batchNorm(out, in, gamma, beta, mean, var, eps, relu);
    }

    @Override
    public void relu(Tensor out, Tensor in) {
        CpuOps.relu(out, in);
    }

    @Override
    public void maxPool(Tensor out, Tensor in, int kernel, int stride, int pad) {
        CpuOps.maxPool(out, in, kernel, stride, pad);
    }

    @Override
    public void globalAvgPool(Tensor out, Tensor in) {
        CpuOps.globalAvgPool(out, in);
    }

    @Override
    public void linear(Tensor out, Tensor in, Tensor weight, Tensor bias) {
        CpuOps.linear(out, in, weight, bias);
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b, boolean relu) {
        CpuOps.add(out, a, b, relu);
    }

    @Override
    public void linearBackward(Tensor dIn, Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in, Tensor weight) {
        CpuGrads.linearBackward(dIn, dWeight, dBias, dOut, in, weight);
    }

    @Override
    public float softmaxCrossEntropy(Tensor dLogits, Tensor logits, int[] targets, float labelSmoothing) {
        return CpuGrads.softmaxCrossEntropy(dLogits, logits, targets, labelSmoothing);
    }

    @Override
    public void globalAvgPoolBackward(Tensor dIn, Tensor dOut) {
        CpuGrads.globalAvgPoolBackward(dIn, dOut);
    }

    @Override
    public void reluBackward(Tensor dIn, Tensor dOut, Tensor out) {
        CpuGrads.reluBackward(dIn, dOut, out);
    }

    @Override
    public void accumulate(Tensor into, Tensor grad) {
        CpuGrads.accumulate(into, grad);
    }

    @Override
    public void maxPoolBackward(Tensor dIn, Tensor dOut, Tensor in, Tensor out, int kernel, int stride, int pad) {
        CpuGrads.maxPoolBackward(dIn, dOut, in, out, kernel, stride, pad);
    }

    @Override
    public void batchNormBackward(Tensor dIn, Tensor dGamma, Tensor dBeta, Tensor dOut, Tensor in, Tensor gamma,
                                  Tensor mean, Tensor var, float eps) {
        CpuGrads.batchNormBackward(dIn, dGamma, dBeta, dOut, in, gamma, mean, var, eps);
    }

    @Override
    public void batchNormTrain(Tensor out, Tensor saveMean, Tensor saveInvStd, Tensor in, Tensor gamma, Tensor beta,
                               Tensor runningMean, Tensor runningVar, float momentum, float eps) {
        CpuGrads.batchNormTrain(out, saveMean, saveInvStd, in, gamma, beta, runningMean, runningVar, momentum, eps);
    }

    @Override
    public void batchNormTrainBackward(Tensor dIn, Tensor dGamma, Tensor dBeta, Tensor dOut, Tensor in, Tensor gamma,
                                       Tensor saveMean, Tensor saveInvStd) {
        CpuGrads.batchNormTrainBackward(dIn, dGamma, dBeta, dOut, in, gamma, saveMean, saveInvStd);
    }

    @Override
    public void conv2dBackwardData(Tensor dIn, Tensor dOut, Tensor weight, int stride, int pad, int groups) {
        CpuGrads.conv2dBackwardData(dIn, dOut, weight, stride, pad, groups);
    }

    @Override
    public void conv2dBackwardFilter(Tensor dWeight, Tensor dOut, Tensor in, int stride, int pad, int groups) {
        CpuGrads.conv2dBackwardFilter(dWeight, dOut, in, stride, pad, groups);
    }

    @Override
    public float clipGradNorm(List<Param<Tensor>> params, float maxNorm) {
        return GradClipping.clipGlobalNorm(parameters(params), maxNorm);
    }

    @Override
    public void step(List<Param<Tensor>> params, float lr) {
        optimizer.step(parameters(params), lr);
    }

    @Override
    public Optimizer optimizer(List<Param<Tensor>> params) {
        return optimizer;
    }

    /** The Java optimizers' view of the trainer's parameters, made once per list. */
    private List<Parameter> parameters(List<Param<Tensor>> params) {
        return parameters.computeIfAbsent(params, ps -> {
            List<Parameter> out = new ArrayList<>(ps.size());
            for (Param<Tensor> p : ps) {
                out.add(new Parameter(p.name(), p.value(), p.grad()));
            }
            return List.copyOf(out);
        });
    }
}
