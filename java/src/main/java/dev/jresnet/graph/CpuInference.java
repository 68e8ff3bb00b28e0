package dev.jresnet.graph;

import dev.jresnet.cpu.FusedConv;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.NetworkSpec;
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
        return new Walk().run(x, 0, end);
    }

    /** The fused convolution: packed weights, batch norm, residual and ReLU in the GEMM's store. */
    private final class Walk extends CpuWalk {
        Walk() {
            super(CpuInference.this.spec, CpuInference.this.tensors);
        }

        @Override
        public void convBn(ConvBn s) {
            values[s.out()] = convs[step].forward(values[s.in()], s.residual() < 0 ? null : values[s.residual()],
                    s.relu());
        }
    }
}
