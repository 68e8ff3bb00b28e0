package dev.jresnet.testing;

import dev.jresnet.cuda.ConvAlgorithms;
import dev.jresnet.cuda.ConvolutionDescriptor;
import dev.jresnet.cuda.NetworkPlan;
import dev.jresnet.nn.Dims;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The reference a GPU forward pass is judged against: the GPU's own plan ({@link NetworkPlan}: batch norm folded
 * in double and rounded once, projection biases merged, the same steps and head) run on the CPU with
 * {@link PrecisionOps}, which rounds where the precision rounds. It walks the plan rather than the network's
 * description because the GPU multiplies the plan's folded fp32 weights: rounding unfolded weights to fp16 would be
 * another computation. In FP32 it is the CPU reference up to folding's roundings (measured 0.9e-6 to 1.3e-6 relative
 * L2 on the logits). Since it runs the plan, a fault of the plan itself (folding, the merged bias) is invisible to it:
 * the fp32 GPU tests and {@code NetworkPlanTest} compare with the CPU reference for that.
 *
 * <p>What the GPU decided per layer while planning (which convolutions fell back from the fused call, which run FMA
 * math) is given as a {@link Layers}, so the reference rounds as that run did.
 */
public final class PrecisionReference {
    private PrecisionReference() {}

    /** Pooled features [N, features] (fp32) and logits [N, classes] of one pass. */
    public record Result(Tensor features, Tensor logits) {}

    /**
     * What a GPU run decided per convolution, by layer name: {@code unfused} ran as convolution + adds + ReLU
     * (rounded after each in fp16), {@code fmaMath} ran without tensor cores (no TF32 rounding).
     */
    public record Layers(Set<String> unfused, Set<String> fmaMath) {
        /** Every convolution fused and on tensor cores. */
        public static final Layers ALL_FUSED = new Layers(Set.of(), Set.of());

        public Layers {
            unfused = Set.copyOf(unfused);
            fmaMath = Set.copyOf(fmaMath);
        }

        /**
         * From an execution context's report: {@code algorithms} (its forward choice per layer: a choice whose
         * math type is {@code CUDNN_FMA_MATH} runs without tensor cores) and {@code unfusedLayers} (layer name to the
         * reason).
         */
        public static Layers of(Map<String, ConvAlgorithms.Choice> algorithms, Map<String, String> unfusedLayers) {
            Set<String> fma = new TreeSet<>();
            algorithms.forEach((layer, c) -> {
                if (ConvolutionDescriptor.MathType.of(c.mathType()) == ConvolutionDescriptor.MathType.FMA) {
                    fma.add(layer);
                }
            });
            return new Layers(unfusedLayers.keySet(), fma);
        }
    }

    /** {@code plan} on x [N, 3, H, W] (normalised, fp32) in {@code ops}' precision, every layer fused on tensor cores. */
    public static Result run(NetworkPlan plan, Tensor x, PrecisionOps ops) {
        return run(plan, x, ops, Layers.ALL_FUSED);
    }

    /** {@code plan} on x [N, 3, H, W] in {@code ops}' precision, each layer as {@code layers} says it ran. */
    public static Result run(NetworkPlan plan, Tensor x, PrecisionOps ops, Layers layers) {
        Dims in = plan.input();
        if (x.rank() != 4 || x.dim(1) != in.c() || x.dim(2) != in.h() || x.dim(3) != in.w()) {
            throw new IllegalArgumentException("the plan takes [N, " + in.c() + ", " + in.h() + ", " + in.w()
                    + "], found " + x.shape());
        }
        Tensor[] values = new Tensor[plan.values().size()];
        int[] lastUse = new int[values.length];
        for (int i = 0; i < plan.steps().size(); i++) {
            for (int v : plan.steps().get(i).inputs()) {
                lastUse[v] = i;
            }
        }
        lastUse[plan.featureValue()] = plan.steps().size();
        values[0] = ops.stored(x);
        for (int i = 0; i < plan.steps().size(); i++) {
            NetworkPlan.Step s = plan.steps().get(i);
            if (s instanceof NetworkPlan.Conv c) {
                NetworkPlan.ConvLayer l = plan.layers().get(c.layer());
                Tensor w = new Tensor(Shape.of(l.k(), l.c() / l.groups(), l.r(), l.s()), l.weight());
                boolean tensorOps = !layers.fmaMath().contains(l.name());
                values[c.out()] = l.bias() == null
                        ? ops.conv2d(values[c.in()], w, null, l.stride(), l.pad(), l.groups(), tensorOps)
                        : ops.conv2dBiasRelu(values[c.in()], w, new Tensor(Shape.of(l.k()), l.bias()),
                        c.residual() < 0 ? null : values[c.residual()], l.stride(), l.pad(), l.groups(),
                        !layers.unfused().contains(l.name()), tensorOps);
            } else if (s instanceof NetworkPlan.MaxPool m) {
                values[m.out()] = ops.maxPool(values[m.in()], m.kernel(), m.stride(), m.pad());
            }
            for (int v : s.inputs()) {
                if (lastUse[v] == i) {
                    values[v] = null; // read for the last time (resnet50 at 224 would otherwise keep ~70 MB an image)
                }
            }
        }
        Tensor features = ops.globalAvgPool(values[plan.featureValue()]);
        return new Result(features, classifier(plan, features, ops));
    }

    /**
     * The plan's classifier on pooled features [N, features] as {@code ops} computes it. Under tf32, cuBLAS is
     * allowed TF32 (the FAST_TF32 compute type) but does not report whether it used tensor cores, so a GPU test may
     * also hold the logits against the fp32 classifier of the same features ({@code PrecisionOps.of(FP32)}): on
     * resnet50 the two differ by 3.1e-4.
     */
    public static Tensor classifier(NetworkPlan plan, Tensor features, PrecisionOps ops) {
        return ops.linear(features, new Tensor(Shape.of(plan.classes(), plan.features()), plan.fcWeight()),
                new Tensor(Shape.of(plan.classes()), plan.fcBias()));
    }

    /**
     * Where a GPU result {@code got} (logits of {@code x}) lies if it is not near the reference: its relative L2
     * distance to the reference computed under the other rounding each precision could have used (tf32: operands
     * truncated rather than rounded; fp16: every convolution rounding as the unfused fallback does), for a failure
     * message. A GPU that really rounds the other way is near that one and far from the reference.
     */
    public static String otherRoundings(NetworkPlan plan, Tensor x, Precision p, Layers layers, float[] got) {
        if (p == Precision.FP32) {
            return "";
        }
        PrecisionOps other = p == Precision.TF32
                ? new PrecisionOps(p, Summation.GEMM, GpuRounding.Tf32.TRUNCATE) : PrecisionOps.of(p);
        Set<String> unfused = new TreeSet<>(layers.unfused());
        if (p == Precision.FP16) {
            plan.layers().forEach(l -> unfused.add(l.name()));
        }
        float[] alt = run(plan, x, other, new Layers(unfused, layers.fmaMath())).logits().data();
        return String.format(java.util.Locale.ROOT, " (relative L2 to the reference with %s: %.3e)",
                p == Precision.TF32 ? "TF32 operands truncated" : "every convolution unfused",
                TestNets.relL2(got, alt));
    }
}
