package dev.jresnet.cuda;

import dev.jresnet.testing.TestNets;
import dev.jresnet.cpu.CpuOps;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.BnFolding;
import dev.jresnet.graph.CpuReference;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.Variant;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.Dims;
import dev.jresnet.tensor.Half;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The GPU plan checked on the CPU: BatchNorm folding, the merged downsample bias, the step order and the
 * buffer assignment, by running the plan with the CPU reference ops on buffers that alias exactly as planned.
 */
class NetworkPlanTest {

    @Test
    void foldingEqualsConvolutionThenBatchNorm() {
        SplittableRandom r = new SplittableRandom(3);
        for (int groups : new int[] {1, 5}) {
            ConvBn c = new ConvBn("c", "bn", 0, 1, 5, 10, 3, 2, 1, groups, -1, false);
            java.util.Map<String, Tensor> t = new java.util.HashMap<>();
            t.put(c.weight(), random(r, -1, 1, 10, 5 / groups, 3, 3));
            t.put(c.gamma(), random(r, 0.5, 1.5, 10));
            t.put(c.beta(), random(r, -0.2, 0.2, 10));
            t.put(c.runningMean(), random(r, -0.3, 0.3, 10));
            t.put(c.runningVar(), random(r, 0.2, 2, 10));
            Tensor x = TestNets.random(r, 1, 2, 5, 9, 9);
            Tensor expected = Tensor.zeros(2, 10, 5, 5);
            CpuOps.conv2d(expected, x, t.get(c.weight()), null, 2, 1, groups);
            CpuOps.batchNorm(expected, expected, t.get(c.gamma()), t.get(c.beta()), t.get(c.runningMean()),
                    t.get(c.runningVar()), ConvBn.BN_EPS, false);
            BnFolding.Folded f = BnFolding.fold(c, t);
            Tensor actual = Tensor.zeros(expected.shape());
            CpuOps.conv2d(actual, x, new Tensor(t.get(c.weight()).shape(), f.weight()), new Tensor(Shape.of(10),
                    f.bias()), 2, 1, groups);
            double err = TestNets.relL2(actual.data(), expected.data());
            assertTrue(err < 1e-6, groups + " groups: relative error " + err);
        }
    }

    @Test
    void filterToKrscHalfPutsChannelsLast() {
        float[] w = new float[2 * 3 * 2 * 2];
        for (int i = 0; i < w.length; i++) {
            w[i] = i;
        }
        short[] h = HalfLayouts.nchwToNhwcHalf(w, 2, 3, 2, 2);
        // out[k][y][x][c] = w[k][c][y][x]
        assertEquals(w[((1 * 3 + 2) * 2 + 1) * 2 + 0], Half.f16ToFloat(h[((1 * 2 + 1) * 2 + 0) * 3 + 2]));
        assertEquals(w[((0 * 3 + 1) * 2 + 0) * 2 + 1], Half.f16ToFloat(h[((0 * 2 + 0) * 2 + 1) * 3 + 1]));
        float[] x = new float[2 * 3 * 2 * 2];
        HalfLayouts.nhwcHalfToNchw(HalfLayouts.nchwToNhwcHalf(w, 2, 3, 2, 2), x, 2, 3, 2, 2);
        assertArrayEquals(w, x);
    }

    /**
     * fp16 stores the network input with 8 channels (3 colours, 5 zeros) and gives the stem zero weights for the
     * extra ones: the same layout function fills the device filter, and the convolution it implies, run on the CPU
     * over the stored layouts widened back to NCHW, equals the 3-channel convolution.
     */
    @Test
    void fp16InputPaddedToEightChannelsLeavesTheStemUnchanged() {
        assertEquals(8, CudaPrecision.of(Precision.FP16).inputChannels(3));
        assertEquals(3, CudaPrecision.of(Precision.FP32).inputChannels(3));
        assertEquals(3, CudaPrecision.of(Precision.TF32).inputChannels(3));
        NetworkPlan plan = NetworkPlan.of(TestNets.randomBnGraph(3), 64, 64);
        assertEquals(java.util.Set.of(0), plan.inputReaders(), "only the stem reads the image");
        SplittableRandom r = new SplittableRandom(5);
        Tensor w = TestNets.random(r, 0.2, 16, 3, 7, 7);
        Tensor x = TestNets.random(r, 1.0, 2, 3, 20, 20);
        float[] wPadded = new float[16 * 8 * 7 * 7];
        HalfLayouts.nhwcHalfToNchw(HalfLayouts.nchwToNhwcHalf(w.data(), 16, 3, 7, 7, 8), wPadded, 16, 8, 7, 7);
        float[] xPadded = new float[2 * 8 * 20 * 20];
        HalfLayouts.nhwcHalfToNchw(HalfLayouts.nchwToNhwcHalf(x.data(), 2, 3, 20, 20, 8), xPadded, 2, 8, 20, 20);
        for (int k = 0; k < 16; k++) {
            for (int c = 3; c < 8; c++) {
                for (int i = 0; i < 49; i++) {
                    assertEquals(0f, wPadded[(k * 8 + c) * 49 + i], "padded filter channel " + c);
                }
            }
        }
        float[] wHalf = new float[w.data().length];
        HalfLayouts.nhwcHalfToNchw(HalfLayouts.nchwToNhwcHalf(w.data(), 16, 3, 7, 7), wHalf, 16, 3, 7, 7);
        float[] xHalf = new float[x.data().length];
        HalfLayouts.nhwcHalfToNchw(HalfLayouts.nchwToNhwcHalf(x.data(), 2, 3, 20, 20), xHalf, 2, 3, 20, 20);
        Tensor expected = Tensor.zeros(2, 16, 10, 10);
        CpuOps.conv2d(expected, new Tensor(Shape.of(2, 3, 20, 20), xHalf), new Tensor(Shape.of(16, 3, 7, 7), wHalf),
                null, 2, 3);
        Tensor padded = Tensor.zeros(2, 16, 10, 10);
        CpuOps.conv2d(padded, new Tensor(Shape.of(2, 8, 20, 20), xPadded), new Tensor(Shape.of(16, 8, 7, 7), wPadded),
                null, 2, 3);
        double err = TestNets.relL2(padded.data(), expected.data());
        assertTrue(err < 1e-6, "padded stem vs 3-channel stem: relative L2 " + err);
        assertThrows(IllegalArgumentException.class, () -> HalfLayouts.nchwToNhwcHalf(w.data(), 16, 3, 7, 7, 2));
    }

    @Test
    void planHasEveryLayerAndFewBuffers() {
        NetworkPlan plan = NetworkPlan.of(TestNets.randomBnGraph(1), 224, 224);
        assertEquals(53, plan.layers().size(), "stem + 16 bottlenecks x 3 + 4 projections");
        assertEquals(54, plan.steps().size());
        assertTrue(plan.bufferCount() >= 3 && plan.bufferCount() <= 5, "buffers: " + plan.bufferCount());
        assertEquals(64L * 112 * 112, plan.maxActivationElements());
        assertEquals(Dims.map(2048, 7, 7), plan.values().get(plan.featureValue()));
        long projections = plan.layers().stream().filter(l -> l.bias() == null).count();
        assertEquals(4, projections, "only the projections run without bias and activation");
        for (NetworkPlan.Step s : plan.steps()) {
            for (int v : s.inputs()) {
                assertNotEquals(plan.bufferOf(v), plan.bufferOf(s.out()), "step " + s + " would run in place");
            }
        }
    }

    @Test
    void planRunOnTheCpuWithAliasedBuffersEqualsTheReference() {
        for (Architecture a : java.util.List.of(Architecture.RESNET50, Architecture.RESNET50.withVariant(Variant.V1),
                Architecture.RESNET18, Architecture.RESNEXT50_32X4D.withClasses(10))) {
            Network g = TestNets.randomBn(a, 11);
            Tensor x = TestNets.randomInput(2, 64, 5);
            Tensor expected = CpuReference.forward(g, x);
            Tensor actual = runPlanOnCpu(NetworkPlan.of(g, 64, 64), x);
            double err = TestNets.relL2(actual.data(), expected.data());
            assertTrue(err < 1e-5, a + ": relative L2 error " + err);
        }
    }

    /** Every architecture's plan, run with the CPU ops at the smallest input (32 x 32), equals the reference. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("dev.jresnet.graph.NetworkSpecTest#architectures")
    void everyArchitecturesPlanEqualsTheReference(Architecture a) {
        Network g = TestNets.randomBn(a, 13);
        Tensor x = TestNets.randomInput(1, 32, 6);
        double err = TestNets.relL2(runPlanOnCpu(NetworkPlan.of(g, 32, 32), x).data(),
                CpuReference.forward(g, x).data());
        System.out.printf("%s plan on the CPU ops vs reference: relative L2 %.2e%n", a.id(), err);
        assertTrue(err < 1e-5, a + ": relative L2 error " + err);
    }

    @Test
    void everyArchitecturePlansWithFewBuffers() {
        for (Architecture a : Architecture.KNOWN) {
            NetworkPlan plan = NetworkPlan.of(new Network(a), 224, 224);
            int convs = new Network(a).spec().convolutions().size();
            assertEquals(convs, plan.layers().size(), a.id());
            assertTrue(plan.bufferCount() >= 3 && plan.bufferCount() <= 5, a.id() + " buffers: " + plan.bufferCount());
            assertEquals(a.groups(), plan.layers().stream().mapToInt(NetworkPlan.ConvLayer::groups).max().orElse(0),
                    a.id() + " groups");
        }
    }

    /** Executes the plan with CPU ops; each buffer remembers which value it holds, so aliasing bugs fail. */
    static Tensor runPlanOnCpu(NetworkPlan plan, Tensor x) {
        int n = x.dim(0);
        Tensor[] contents = new Tensor[plan.bufferCount()];
        int[] holder = new int[plan.bufferCount()];
        java.util.Arrays.fill(holder, -1);
        java.util.function.IntFunction<Tensor> read = v -> {
            if (v == 0) {
                return x;
            }
            int b = plan.bufferOf(v);
            assertEquals(v, holder[b], "value " + v + " was overwritten in buffer " + b + " before being read");
            return contents[b];
        };
        List<NetworkPlan.Step> steps = plan.steps();
        for (NetworkPlan.Step s : steps) {
            Dims d = plan.values().get(s.out());
            Tensor out = Tensor.zeros(n, d.c(), d.h(), d.w());
            if (s instanceof NetworkPlan.Conv c) {
                NetworkPlan.ConvLayer l = plan.layers().get(c.layer());
                Tensor in = read.apply(c.in());
                Tensor w = new Tensor(Shape.of(l.k(), l.c() / l.groups(), l.r(), l.s()), l.weight());
                Tensor b = l.bias() == null ? null : new Tensor(Shape.of(l.k()), l.bias());
                if (b == null) {
                    CpuOps.conv2d(out, in, w, null, l.stride(), l.pad(), l.groups());
                } else {
                    CpuOps.conv2dBiasRelu(out, in, w, b, c.residual() < 0 ? null : read.apply(c.residual()),
                            l.stride(), l.pad(), l.groups());
                }
            } else if (s instanceof NetworkPlan.MaxPool p) {
                CpuOps.maxPool(out, read.apply(p.in()), p.kernel(), p.stride(), p.pad());
            }
            int buf = plan.bufferOf(s.out());
            contents[buf] = out;
            holder[buf] = s.out();
        }
        Tensor features = read.apply(plan.featureValue());
        Tensor pooled = Tensor.zeros(n, plan.features());
        CpuOps.globalAvgPool(pooled, features);
        Tensor logits = Tensor.zeros(n, plan.classes());
        CpuOps.linear(logits, pooled, new Tensor(dev.jresnet.tensor.Shape.of(plan.classes(), plan.features()),
                plan.fcWeight()), new Tensor(dev.jresnet.tensor.Shape.of(plan.classes()), plan.fcBias()));
        return logits;
    }

    @Test
    void optionsValidateAndSortBuckets() {
        CudaResNet.Options o = CudaResNet.Options.defaults().withBuckets(List.of(32, 1, 8));
        assertEquals(List.of(1, 8, 32), o.buckets());
        assertThrows(IllegalArgumentException.class, () -> CudaResNet.Options.defaults().withBuckets(List.of(0, 4)));
        assertThrows(IllegalArgumentException.class, () -> CudaResNet.Options.defaults().withBuckets(List.of(4, 4)));
        assertThrows(IllegalArgumentException.class, () -> CudaResNet.Options.defaults().withMaxContexts(0));
        assertEquals(Precision.FP16, Precision.parse("fp16"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Precision.parse("int8"));
        assertTrue(e.getMessage().contains("fp32, tf32 or fp16"), e.getMessage());
        assertTrue(CudaPrecision.of(Precision.FP32).exact());
        assertEquals(Layout.NHWC, CudaPrecision.of(Precision.FP16).layout());
    }

    private static Tensor random(SplittableRandom r, double lo, double hi, int... dims) {
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) (lo + r.nextDouble() * (hi - lo));
        }
        return t;
    }
}
