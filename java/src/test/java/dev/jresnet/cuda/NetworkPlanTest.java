package dev.jresnet.cuda;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.nn.BatchNorm2d;
import dev.jresnet.nn.Conv2d;
import dev.jresnet.resnet.ResNet50Config;
import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.resnet.Variant;
import dev.jresnet.tensor.Half;
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
        Conv2d conv = new Conv2d("c", 5, 7, 3, 2, 1);
        BatchNorm2d bn = new BatchNorm2d("bn", 7);
        fill(conv.weight, r, -1, 1);
        fill(bn.weight, r, 0.5, 1.5);
        fill(bn.bias, r, -0.2, 0.2);
        fill(bn.runningMean, r, -0.3, 0.3);
        fill(bn.runningVar, r, 0.2, 2);
        Tensor x = TestNets.random(r, 1, 2, 5, 9, 9);
        Tensor expected = conv.forward(x);
        bn.forwardInPlace(expected, false);
        BnFolding.Folded f = BnFolding.fold(conv, bn);
        Tensor actual = Tensor.zeros(expected.shape());
        CpuOps.conv2d(actual, x, new Tensor(conv.weight.shape(), f.weight()), new Tensor(dev.jresnet.tensor.Shape.of(7), f.bias()), 2, 1);
        assertTrue(TestNets.relL2(actual.data(), expected.data()) < 1e-6, "relative error "
                + TestNets.relL2(actual.data(), expected.data()));
    }

    @Test
    void filterToKrscHalfPutsChannelsLast() {
        float[] w = new float[2 * 3 * 2 * 2];
        for (int i = 0; i < w.length; i++) {
            w[i] = i;
        }
        short[] h = BnFolding.kcrsToKrscHalf(w, 2, 3, 2, 2);
        // out[k][y][x][c] = w[k][c][y][x]
        assertEquals(w[((1 * 3 + 2) * 2 + 1) * 2 + 0], Half.f16ToFloat(h[((1 * 2 + 1) * 2 + 0) * 3 + 2]));
        assertEquals(w[((0 * 3 + 1) * 2 + 0) * 2 + 1], Half.f16ToFloat(h[((0 * 2 + 0) * 2 + 1) * 3 + 1]));
        float[] x = new float[2 * 3 * 2 * 2];
        GpuOps.fromNhwcHalf(GpuOps.toNhwcHalf(w, 2, 3, 2, 2), x, 2, 3, 2, 2);
        assertArrayEquals(w, x);
    }

    @Test
    void planHasEveryLayerAndFewBuffers() {
        NetworkPlan plan = NetworkPlan.of(TestNets.randomBnGraph(1), 224, 224);
        assertEquals(53, plan.layers().size(), "stem + 16 bottlenecks x 3 + 4 projections");
        assertEquals(54, plan.steps().size());
        assertTrue(plan.bufferCount() >= 3 && plan.bufferCount() <= 5, "buffers: " + plan.bufferCount());
        assertEquals(64L * 112 * 112, plan.maxActivationElements());
        assertEquals(new NetworkPlan.Dims(2048, 7, 7), plan.values().get(plan.featureValue()));
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
        for (Variant v : Variant.values()) {
            ResNet50Graph g = TestNets.randomBnGraph(11);
            if (v == Variant.V1) {
                ResNet50Graph g1 = new ResNet50Graph(ResNet50Config.imagenet().withVariant(Variant.V1));
                dev.jresnet.resnet.WeightBinding.initialise(g1, 11);
                g = g1;
            }
            Tensor x = TestNets.randomInput(2, 64, 5);
            Tensor expected = g.forward(x);
            Tensor actual = runPlanOnCpu(NetworkPlan.of(g, 64, 64), x);
            double err = TestNets.relL2(actual.data(), expected.data());
            assertTrue(err < 1e-5, v + ": relative L2 error " + err);
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
            NetworkPlan.Dims d = plan.values().get(s.out());
            Tensor out = Tensor.zeros(n, d.c(), d.h(), d.w());
            if (s instanceof NetworkPlan.Conv c) {
                NetworkPlan.ConvLayer l = plan.layers().get(c.layer());
                Tensor in = read.apply(c.in());
                Tensor w = new Tensor(dev.jresnet.tensor.Shape.of(l.k(), l.c(), l.r(), l.s()), l.weight());
                Tensor b = l.bias() == null ? null : new Tensor(dev.jresnet.tensor.Shape.of(l.k()), l.bias());
                CpuOps.conv2d(out, in, w, b, l.stride(), l.pad());
                if (c.residual() >= 0) {
                    CpuOps.add(out, out, read.apply(c.residual()), true);
                } else if (b != null) {
                    CpuOps.relu(out, out);
                }
            } else if (s instanceof NetworkPlan.MaxPool p) {
                CpuOps.maxPool(out, read.apply(p.in()), p.window(), p.stride(), p.pad());
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
        CudaResNet50.Options o = CudaResNet50.Options.defaults().withBuckets(List.of(32, 1, 8));
        assertEquals(List.of(1, 8, 32), o.buckets());
        assertThrows(IllegalArgumentException.class, () -> CudaResNet50.Options.defaults().withBuckets(List.of(0, 4)));
        assertThrows(IllegalArgumentException.class, () -> CudaResNet50.Options.defaults().withBuckets(List.of(4, 4)));
        assertThrows(IllegalArgumentException.class, () -> CudaResNet50.Options.defaults().withMaxContexts(0));
        assertEquals(InferencePrecision.FP16, InferencePrecision.parse("fp16"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InferencePrecision.parse("int8"));
        assertTrue(e.getMessage().contains("fp32, tf32 or fp16"), e.getMessage());
        assertTrue(InferencePrecision.FP32.exact());
        assertEquals(Layout.NHWC, InferencePrecision.FP16.layout());
    }

    private static void fill(Tensor t, SplittableRandom r, double lo, double hi) {
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) (lo + r.nextDouble() * (hi - lo));
        }
    }
}
