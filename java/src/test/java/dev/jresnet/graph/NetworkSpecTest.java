package dev.jresnet.graph;

import dev.jresnet.nn.AddRelu;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.Dims;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.nn.Step;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.TestNets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The description of the family: counts, shapes, stages, the fused form, and the checks a description gets. */
class NetworkSpecTest {
    static Stream<Architecture> architectures() {
        return Architecture.KNOWN.stream();
    }

    /** torchvision's documented parameter counts and GFLOPS (multiply-adds, 224 x 224). */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "resnet18, 11689512, 1.81", "resnet34, 21797672, 3.66", "resnet50, 25557032, 4.09",
            "resnet101, 44549160, 7.80", "resnet152, 60192808, 11.51", "wide_resnet50_2, 68883240, 11.40",
            "wide_resnet101_2, 126886696, 22.75", "resnext50_32x4d, 25028904, 4.23",
            "resnext101_32x8d, 88791336, 16.41", "resnext101_64x4d, 83455272, 15.46"})
    void countsAreTorchvisions(String id, long params, double gmacs) {
        NetworkSpec s = Architecture.of(id).spec();
        assertEquals(params, s.parameterCount(), id);
        assertEquals(gmacs, s.flops(224, 224) / 2e9, 0.01, id + " GMACs");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void shapesStagesAndCutsFollowTheNetwork(Architecture a) {
        NetworkSpec s = a.spec();
        List<Dims> d = s.shapes(224, 224);
        assertEquals(Dims.map(64, 112, 112), d.get(1), "stem convolution");
        assertEquals(Dims.vector(1000), d.get(s.outputValue()));
        int e = a.block().expansion();
        int[] sides = {56, 28, 14, 7};
        for (int i = 1; i <= 4; i++) {
            int first = s.stage("layer" + i).firstStep();
            Dims in = d.get(s.boundaryValue(first));
            assertEquals(i == 1 ? 56 : sides[i - 2], in.h(), a.id() + " layer" + i + " input");
            int last = i < 4 ? s.stage("layer" + (i + 1)).firstStep() : s.stage("avgpool").firstStep();
            assertEquals(Dims.map(64 * e << (i - 1), sides[i - 1], sides[i - 1]), d.get(s.boundaryValue(last)),
                    a.id() + " layer" + i + " output");
        }
        assertEquals(Dims.vector(512 * e), d.get(s.boundaryValue(s.stage("fc").firstStep())));
        assertEquals(0, s.boundaryValue(0));
        // Inside a block two values cross a cut (the block input and the branch): no single frozen feature there.
        int inside = s.stage("layer1").firstStep() + 1;
        assertThrows(IllegalArgumentException.class, () -> s.boundaryValue(inside));
        assertThrows(IllegalArgumentException.class, () -> s.stage("layer5"));
        assertThrows(IllegalArgumentException.class, () -> s.shapes(0, 224));
        assertEquals(Dims.map(512 * e, 1, 1), s.shapes(16, 16).get(s.boundaryValue(s.stage("avgpool").firstStep())),
                "a 16 x 16 input still leaves a 1 x 1 map");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void theFusedFormMergesEveryBlocksAddAndComputesTheSameBits(Architecture a) {
        Network net = TestNets.randomBn(a.withClasses(7), 3);
        NetworkSpec plain = net.spec(), fused = plain.fused();
        long adds = plain.steps().stream().filter(st -> st instanceof AddRelu).count();
        assertEquals(plain.steps().size() - adds, fused.steps().size(), a.id());
        assertTrue(fused.steps().stream().noneMatch(st -> st instanceof AddRelu), "every add merged");
        assertEquals(adds, fused.steps().stream().filter(st -> st instanceof ConvBn c && c.residual() >= 0).count());
        assertEquals(plain.tensors(), fused.tensors());
        assertEquals(plain.stages().stream().map(NetworkSpec.Stage::name).toList(),
                fused.stages().stream().map(NetworkSpec.Stage::name).toList());
        assertEquals(plain.flops(224, 224), fused.flops(224, 224));
        // Both forms run by the reference ops give the same bits; the fast path gives them too.
        Tensor x = TestNets.randomInput(2, 40, 4);
        Tensor want = CpuReference.forward(net, x);
        assertArrayEquals(want.data(), CpuReference.run(fused, net.tensors(), x, 0, fused.steps().size()).data(),
                a.id() + ": fused description on the reference ops");
        assertArrayEquals(want.data(), TestNets.bitwiseFastPath(net).forward(x).data(),
                a.id() + ": the fast CPU path");
        assertTrue(TestNets.relL2(new CpuInference(net).forward(x).data(), want.data()) <= 5e-6, a.id()
                + ": the default fast path, Winograd's layers within their bound");
    }

    @Test
    void aDescriptionIsCheckedWhenBuilt() {
        NetworkSpec.Builder b = NetworkSpec.builder("bad", 3);
        int x = b.convBn("c1", "b1", 0, 8, 3, 1, 1, 1, true);
        b.linear("fc", x, 10);   // a feature map into a linear layer
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
        assertTrue(e.getMessage().contains("fc expects [N, 8]") && e.getMessage().contains("[N, 8, H, W]"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ConvBn("c", "b", 0, 1, 6, 8, 3, 1, 1, 4, -1, true),
                "4 groups do not divide 6 channels");
        NetworkSpec.Builder c = NetworkSpec.builder("mismatch", 3);
        int y = c.convBn("c1", "b1", 0, 8, 3, 2, 1, 1, true);
        c.addRelu(y, 0);     // 8 channels + 3 channels
        e = assertThrows(IllegalArgumentException.class, c::build);
        assertTrue(e.getMessage().contains("expects [N, 8, H, W]"), e.getMessage());
    }

    @Test
    void architecturesParseAndDescribeThemselves() {
        assertEquals(Architecture.RESNEXT50_32X4D, Architecture.of("ResNeXt50-32x4d"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Architecture.of("resnet51"));
        assertTrue(e.getMessage().contains("resnet18") && e.getMessage().contains("resnext101_64x4d"), e.getMessage());
        assertEquals("resnet50 v1, 10 classes", Architecture.RESNET50.withVariant(Variant.V1).withClasses(10).describe());
        assertEquals("ResNet-50 v1, 10 classes",
                Architecture.RESNET50.withVariant(Variant.V1).withClasses(10).displayName());
        assertEquals(List.of("ResNet-18", "ResNet-34", "ResNet-50", "ResNet-101", "ResNet-152", "Wide ResNet-50-2",
                        "Wide ResNet-101-2", "ResNeXt-50 32x4d", "ResNeXt-101 32x8d", "ResNeXt-101 64x4d"),
                Architecture.KNOWN.stream().map(Architecture::displayName).toList());
        assertEquals("ResNet-18, 3 classes", Architecture.RESNET18.withVariant(Variant.V1).withClasses(3).displayName(),
                "basic blocks have no variant to name");
        assertEquals("my_net", new Architecture("my_net", Architecture.Block.BASIC, List.of(1, 1, 1, 1), 1, 64,
                Variant.V1_5, 1000).displayName(), "an id not torchvision's is its own name");
        assertEquals(2048, Architecture.WIDE_RESNET50_2.features());
        assertEquals(512, Architecture.RESNET34.features());
        assertThrows(IllegalArgumentException.class, () -> new Architecture("x", Architecture.Block.BASIC,
                List.of(2, 2, 2, 2), 32, 4, Variant.V1_5, 10), "torchvision's basic blocks have no groups");
        // v1 moves the stride of downsampling bottlenecks to their first 1x1 convolution; basic blocks are the same
        Step v1 = Architecture.RESNET50.withVariant(Variant.V1).spec().steps().get(
                Architecture.RESNET50.spec().stage("layer2").firstStep());
        assertEquals(2, ((ConvBn) v1).stride());
        assertEquals(Architecture.RESNET18.spec().steps(), Architecture.RESNET18.withVariant(Variant.V1).spec().steps());
    }

    @Test
    void aNetworkCopiesAndReplacesItsHeadWithoutTouchingItself() {
        Network a = Network.initialised(Architecture.RESNET18, 1);
        Network b = a.copy();
        assertArrayEquals(a.tensor("layer1.0.conv1.weight").data(), b.tensor("layer1.0.conv1.weight").data());
        b.tensor("layer1.0.conv1.weight").data()[0] += 1;
        assertFalse(a.tensor("layer1.0.conv1.weight").data()[0] == b.tensor("layer1.0.conv1.weight").data()[0]);
        Network h = a.withNewHead(3, 9);
        assertArrayEquals(new int[] {3, 512}, h.tensor("fc.weight").shape().dims());
        assertEquals(3, h.numClasses());
        assertThrows(IllegalArgumentException.class, () -> a.tensor("layer5.0.conv1.weight"));
    }
}
