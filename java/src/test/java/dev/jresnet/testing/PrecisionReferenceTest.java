package dev.jresnet.testing;

import dev.jresnet.cuda.ConvAlgorithms;
import dev.jresnet.cuda.ConvolutionDescriptor;
import dev.jresnet.cuda.NetworkPlan;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.CpuReference;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.Variant;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The rounding-aware walk of the GPU plan against the CPU reference, and the per-layer report it takes. */
class PrecisionReferenceTest {
    // resnet18 keeps this class to seconds; TolerancesTest runs resnet50
    private static final Network NET = TestNets.randomBn(Architecture.RESNET18, 2024);
    private static final Tensor X = TestNets.randomInput(1, 64, 9);
    private static final NetworkPlan PLAN = NetworkPlan.of(NET, 64, 64);
    private static final float[] FP32 = CpuReference.forward(NET, X).data();

    /** fp32 walks the folded plan: the CPU reference up to folding's roundings, as NetworkPlanTest's bound. */
    @Test
    void fp32WalkOfThePlanIsTheCpuReference() {
        for (Architecture a : List.of(Architecture.RESNET50.withVariant(Variant.V1),
                Architecture.RESNEXT50_32X4D.withClasses(10))) {
            Network g = TestNets.randomBn(a, 11);
            Tensor x = TestNets.randomInput(1, 64, 5);
            double err = TestNets.relL2(PrecisionReference.run(NetworkPlan.of(g, 64, 64), x,
                    PrecisionOps.of(Precision.FP32)).logits().data(), CpuReference.forward(g, x).data());
            System.out.printf("%s fp32 walk of the plan vs CPU reference: %.2e%n", a.id(), err);
            assertTrue(err < 1e-5, a + ": relative L2 " + err); // measured 1.3e-6 (v1), 8.6e-7 (resnext)
        }
        PrecisionReference.Result r = PrecisionReference.run(PLAN, X, PrecisionOps.of(Precision.FP32));
        double err = TestNets.relL2(r.logits().data(), FP32);
        System.out.printf("resnet18 fp32 walk of the plan vs CPU reference: %.2e%n", err);
        assertTrue(err < 1e-5, "resnet18: " + err); // measured 1.1e-6
        assertEquals(List.of(1, 512), List.of(r.features().dim(0), r.features().dim(1)));
    }

    /** The reduced precisions really round, by about what the rounding predicts, and no more. */
    @Test
    void reducedPrecisionsDifferFromFp32ByTheirRounding() {
        for (Precision p : List.of(Precision.FP16, Precision.TF32)) {
            double err = TestNets.relL2(PrecisionReference.run(PLAN, X, PrecisionOps.of(p)).logits().data(), FP32);
            System.out.printf("%s reference vs fp32, resnet18 at 64x64: %.2e%n", p, err);
            assertTrue(err > 1e-4 && err < 3e-3, p + ": " + err); // measured 6.3e-4 (fp16), 6.9e-4 (tf32)
        }
    }

    @Test
    void layersReportedUnfusedOrOnFmaRoundAsTheyRan() {
        Set<String> all = new HashSet<>();
        PLAN.layers().forEach(l -> all.add(l.name()));
        float[] fp16 = PrecisionReference.run(PLAN, X, PrecisionOps.of(Precision.FP16)).logits().data();
        float[] unfused = PrecisionReference.run(PLAN, X, PrecisionOps.of(Precision.FP16),
                new PrecisionReference.Layers(all, Set.of())).logits().data();
        assertTrue(TestNets.relL2(unfused, fp16) > 1e-4, "the fallback's roundings change fp16's result");
        PrecisionReference.Result fma = PrecisionReference.run(PLAN, X, PrecisionOps.of(Precision.TF32),
                new PrecisionReference.Layers(Set.of(), all));
        PrecisionReference.Result fp32 = PrecisionReference.run(PLAN, X, PrecisionOps.of(Precision.FP32));
        assertArrayEquals(fp32.features().data(), fma.features().data(), "no convolution rounds to TF32");
        double head = TestNets.relL2(fma.logits().data(), fp32.logits().data());
        assertTrue(head > 0 && head < 1e-3, "the classifier still does: " + head);
        assertArrayEquals(fp32.logits().data(), PrecisionReference.classifier(PLAN, fma.features(),
                PrecisionOps.of(Precision.FP32)).data(), "the fp32 classifier of the same features");
        assertArrayEquals(fma.logits().data(), PrecisionReference.classifier(PLAN, fma.features(),
                PrecisionOps.of(Precision.TF32)).data(), "run's own classifier");
    }

    @Test
    void layersComeFromTheContextsReport() {
        ConvAlgorithms.Choice fma = new ConvAlgorithms.Choice(1, ConvolutionDescriptor.MathType.FMA.cudnnValue(), 0,
                "heuristic #0 of 8");
        ConvAlgorithms.Choice tensorOp = new ConvAlgorithms.Choice(1,
                ConvolutionDescriptor.MathType.TENSOR_OP.cudnnValue(), 0, "heuristic #0 of 8");
        ConvAlgorithms.Choice dflt = new ConvAlgorithms.Choice(1, ConvolutionDescriptor.MathType.DEFAULT.cudnnValue(),
                0, "heuristic #1 of 8");
        PrecisionReference.Layers l = PrecisionReference.Layers.of(
                Map.of("conv1", tensorOp, "layer1.0.conv1", fma, "layer1.0.conv2", dflt),
                Map.of("layer1.0.conv3", "batch 4: CUDNN_STATUS_NOT_SUPPORTED"));
        assertEquals(Set.of("layer1.0.conv1"), l.fmaMath());
        assertEquals(Set.of("layer1.0.conv3"), l.unfused());
        assertEquals(Set.of(), PrecisionReference.Layers.ALL_FUSED.unfused());
    }

    @Test
    void inputMustFitThePlan() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PrecisionReference.run(PLAN, TestNets.randomInput(1, 96, 1), PrecisionOps.of(Precision.FP16)));
        assertTrue(e.getMessage().contains("[N, 3, 64, 64]"), e.getMessage());
    }
}
