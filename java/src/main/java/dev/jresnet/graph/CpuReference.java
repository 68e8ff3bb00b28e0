package dev.jresnet.graph;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.tensor.Tensor;

import java.util.Map;

/**
 * The CPU reference forward pass: one {@link CpuOps} call per step of the description, in order, each into a new
 * tensor. It is the oracle every other executor is tested against and the readable version of the network. It reads
 * the network's tensors as they are at the call, so a trainer can run it between updates. Thread-safe.
 */
public final class CpuReference {
    private CpuReference() {}

    /** Logits [N, classes] of a normalised batch x [N, 3, H, W] (H, W >= 32). */
    public static Tensor forward(Network net, Tensor x) {
        requireInput(net.spec(), x);
        return run(net.spec(), net.tensors(), x, 0, net.spec().steps().size());
    }

    /**
     * Steps [first, end) of {@code spec} (the plain description or its {@link NetworkSpec#fused() fused} form) on
     * {@code input}, the value that crosses the cut before {@code first}; returns the output of step end - 1.
     */
    public static Tensor run(NetworkSpec spec, Map<String, Tensor> tensors, Tensor input, int first, int end) {
        if (first < 0 || end > spec.steps().size() || first >= end) {
            throw new IllegalArgumentException(spec.name() + ": no steps in [" + first + ", " + end + ")");
        }
        int in = spec.boundaryValue(first);
        if (input.rank() < 2 || input.dim(1) != spec.channels(in)) {
            throw new IllegalArgumentException(spec.name() + ": the input of step " + first + " has "
                    + spec.channels(in) + " channels, found " + input.shape());
        }
        return new Walk(spec, tensors).run(input, first, end);
    }

    /**
     * Throws unless x is [N, C, H, W] with the network's input channels and a size every step can take: what every
     * executor of a ResNet takes as images.
     */
    public static void requireInput(NetworkSpec spec, Tensor x) {
        if (x.rank() != 4 || x.dim(1) != spec.inputChannels() || x.dim(2) < 32 || x.dim(3) < 32) {
            throw new IllegalArgumentException(spec.name() + " input must be [N, " + spec.inputChannels()
                    + ", H, W] with H, W >= 32, found " + x.shape());
        }
    }

    /** The reference convolution: the separate ops, each into a new tensor. */
    private static final class Walk extends CpuWalk {
        Walk(NetworkSpec spec, Map<String, Tensor> tensors) {
            super(spec, tensors);
        }

        @Override
        public void convBn(ConvBn s) {
            Tensor x = values[s.in()];
            Tensor y = Tensor.zeros(x.dim(0), s.outChannels(), s.outSize(x.dim(2)), s.outSize(x.dim(3)));
            CpuOps.conv2d(y, x, tensors.get(s.weight()), null, s.stride(), s.pad(), s.groups());
            CpuOps.batchNorm(y, y, tensors.get(s.gamma()), tensors.get(s.beta()), tensors.get(s.runningMean()),
                    tensors.get(s.runningVar()), ConvBn.BN_EPS, s.relu() && s.residual() < 0);
            if (s.residual() >= 0) {
                CpuOps.add(y, y, values[s.residual()], s.relu());
            }
            values[s.out()] = y;
        }
    }
}
