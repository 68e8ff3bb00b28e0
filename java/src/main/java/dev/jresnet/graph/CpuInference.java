package dev.jresnet.graph;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.cpu.FusedConv;
import dev.jresnet.nn.AddRelu;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.GlobalAvgPool;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.MaxPool;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.nn.Step;
import dev.jresnet.nn.StepVisitor;
import dev.jresnet.tensor.Tensor;

import java.util.Map;

/**
 * The fast CPU path: the network's {@link NetworkSpec#fused() fused} description, each convolution a
 * {@link FusedConv} (weights packed once, here; batch norm, the residual add and ReLU applied as the GEMM stores its
 * output). Bit for bit the {@link CpuReference}'s result. The convolution weights are packed when this is made and
 * the other tensors are read as they are, so the network must not change while this is in use (inference models
 * never change theirs; a trainer runs the reference). Immutable and thread-safe.
 */
public final class CpuInference {
    private final NetworkSpec spec;
    private final Map<String, Tensor> tensors;
    private final FusedConv[] convs;     // by step index of the fused description

    public CpuInference(Network net) {
        this.spec = net.spec().fused();
        this.tensors = net.tensors();
        this.convs = new FusedConv[spec.steps().size()];
        for (int i = 0; i < convs.length; i++) {
            if (spec.steps().get(i) instanceof ConvBn c) {
                convs[i] = FusedConv.of(tensors.get(c.weight()), c.stride(), c.pad(), c.groups(),
                        tensors.get(c.gamma()), tensors.get(c.beta()), tensors.get(c.runningMean()),
                        tensors.get(c.runningVar()), ConvBn.BN_EPS);
            }
        }
    }

    /** Logits [N, classes] of a normalised batch x [N, 3, H, W] (H, W >= 32). */
    public Tensor forward(Tensor x) {
        return run(x, spec.steps().size());
    }

    /** The pooled features [N, C] the classifier sees. */
    public Tensor features(Tensor x) {
        return run(x, spec.steps().size() - 1);
    }

    private Tensor run(Tensor x, int end) {
        CpuReference.requireInput(spec, x);
        Walk walk = new Walk(x);
        for (int i = 0; i < end; i++) {
            Step s = spec.steps().get(i);
            walk.step = i;
            s.accept(walk);
            for (int v : s.inputs()) {
                if (spec.lastUse(v) == i && v != 0) {
                    walk.values[v] = null;  // read for the last time: let it go
                }
            }
        }
        return walk.values[spec.steps().get(end - 1).out()];
    }

    /** The visitor: values by number; {@code step} is the index of the step being run (its packed convolution). */
    private final class Walk implements StepVisitor {
        final Tensor[] values = new Tensor[spec.valueCount()];
        int step;

        Walk(Tensor x) {
            values[0] = x;
        }

        @Override
        public void convBn(ConvBn s) {
            values[s.out()] = convs[step].forward(values[s.in()], s.residual() < 0 ? null : values[s.residual()],
                    s.relu());
        }

        @Override
        public void addRelu(AddRelu s) {
            Tensor y = Tensor.zeros(values[s.a()].shape());
            CpuOps.add(y, values[s.a()], values[s.b()], true);
            values[s.out()] = y;
        }

        @Override
        public void maxPool(MaxPool s) {
            Tensor in = values[s.in()];
            Tensor y = Tensor.zeros(in.dim(0), in.dim(1), s.outSize(in.dim(2)), s.outSize(in.dim(3)));
            CpuOps.maxPool(y, in, s.kernel(), s.stride(), s.pad());
            values[s.out()] = y;
        }

        @Override
        public void globalAvgPool(GlobalAvgPool s) {
            Tensor in = values[s.in()];
            Tensor y = Tensor.zeros(in.dim(0), in.dim(1));
            CpuOps.globalAvgPool(y, in);
            values[s.out()] = y;
        }

        @Override
        public void linear(Linear s) {
            Tensor y = Tensor.zeros(values[s.in()].dim(0), s.outFeatures());
            CpuOps.linear(y, values[s.in()], tensors.get(s.weight()), tensors.get(s.bias()));
            values[s.out()] = y;
        }
    }
}
