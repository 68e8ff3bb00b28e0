package dev.jresnet.dnnl;

import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.CpuReference;
import dev.jresnet.graph.Network;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.Difference;
import dev.jresnet.testing.TestNets;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * oneDNN's plan of a description against the CPU reference on random inputs and weights (random batch norm too, so
 * that folding is exercised): each kind of step alone within 1e-6 relative L2 (the issue's bound op by op), whole
 * networks within 1e-5 (the bound on the logits), with the largest absolute error printed.
 */
class DnnlInferenceTest {
    @BeforeEach
    void needsOneDnn() {
        assumeTrue(Dnnl.unavailableReason() == null, () -> "oneDNN does not load here: " + Dnnl.unavailableReason());
    }

    /** A one-off description's tensors: random weights, positive variances, gammas around 1. */
    private static Map<String, Tensor> randomTensors(NetworkSpec spec, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> t = new HashMap<>();
        for (NetworkSpec.TensorSpec s : spec.tensors()) {
            Tensor x = Tensor.zeros(s.shape());
            boolean positive = s.name().endsWith("running_var") || (s.name().endsWith(".weight") && x.rank() == 1);
            for (int i = 0; i < x.size(); i++) {
                x.data()[i] = (float) (positive ? 0.5 + r.nextDouble() : (r.nextDouble() * 2 - 1) * 0.5);
            }
            t.put(s.name(), x);
        }
        return t;
    }

    private static Tensor input(int n, int c, int h, int w, long seed) {
        return TestNets.random(new SplittableRandom(seed), 2, n, c, h, w);
    }

    private static Difference check(String what, Tensor got, Tensor want, double bound) {
        assertArrayEquals(want.shape().dims(), got.shape().dims(), what + ": shape");
        Difference d = Difference.of(got.data(), want.data());
        double rel = d.errorNorm() / d.referenceNorm();
        System.out.printf("oneDNN vs reference, %s: rel L2 %.2e, max abs %.2e (max |ref| %.2e)%n", what, rel,
                d.errorMax(), d.referenceMax());
        assertTrue(rel <= bound, what + ": relative L2 " + rel + " > " + bound);
        assertTrue(d.referenceNorm() > 0, what + ": the reference is all zeros, the check is empty");
        return d;
    }

    /** Runs {@code spec} on oneDNN and on the reference ops and compares the outputs within 1e-6. */
    private static void oneStepKind(String what, NetworkSpec spec, Tensor x) {
        Map<String, Tensor> tensors = randomTensors(spec, 7);
        try (DnnlInference d = new DnnlInference(spec, tensors)) {
            Tensor want = CpuReference.run(spec, tensors, x, 0, spec.steps().size());
            check(what, d.forward(x), want, 1e-6);
        }
    }

    @Test
    void stemAndMaxPoolOnOddSizes() {
        NetworkSpec.Builder b = NetworkSpec.builder("stem", 3);
        int c = b.convBn("conv1", "bn1", b.input(), 16, 7, 2, 3, 1, true);
        b.maxPool(c, 3, 2, 1);
        // 33 x 35: floor mode leaves less padding on the bottom/right than on the top/left.
        oneStepKind("7x7/2 conv + bn + relu, 3x3/2 max pool, [2, 3, 33, 35]", b.build(), input(2, 3, 33, 35, 1));
    }

    @Test
    void bottleneckWithTheResidualSummedInPlace() {
        NetworkSpec.Builder b = NetworkSpec.builder("block", 3);
        int x = b.convBn("conv0", "bn0", b.input(), 32, 3, 1, 1, 1, true);
        int y = b.convBn("conv1", "bn1", x, 8, 1, 1, 0, 1, true);
        y = b.convBn("conv2", "bn2", y, 8, 3, 1, 1, 1, true);
        y = b.convBn("conv3", "bn3", y, 32, 1, 1, 0, 1, false);
        b.addRelu(y, x);  // fused: conv3 writes into x's buffer, its last reader
        NetworkSpec spec = b.build();
        try (DnnlInference d = new DnnlInference(spec, randomTensors(spec, 3))) {
            assertTrue(d.implementations(1, 32, 32).stream().anyMatch(s -> s.startsWith("conv3")), "conv3 planned");
        }
        oneStepKind("bottleneck, residual as in-place sum, [2, 3, 32, 40]", spec, input(2, 3, 32, 40, 2));
    }

    @Test
    void downsampleStridedAndGroupedConvolutions() {
        NetworkSpec.Builder b = NetworkSpec.builder("down", 3);
        int x = b.convBn("conv0", "bn0", b.input(), 32, 3, 1, 1, 1, true);
        int y = b.convBn("conv1", "bn1", x, 32, 3, 2, 1, 4, true);  // grouped 3x3/2, as ResNeXt's
        y = b.convBn("conv2", "bn2", y, 64, 1, 1, 0, 1, false);
        int s = b.convBn("downsample", "dbn", x, 64, 1, 2, 0, 1, false);
        b.addRelu(y, s);
        oneStepKind("grouped 3x3/2, 1x1/2 downsample shortcut, [1, 3, 37, 33]", b.build(), input(1, 3, 37, 33, 3));
    }

    @Test
    void residualReadAgainLaterIsAddedFromItsOwnBuffer() {
        NetworkSpec.Builder b = NetworkSpec.builder("binary", 3);
        int x = b.convBn("conv0", "bn0", b.input(), 16, 3, 1, 1, 1, true);
        int y = b.convBn("conv1", "bn1", x, 16, 3, 1, 1, 1, false);
        int z = b.addRelu(y, x);                                      // fused into conv1 (x is its input too)
        int w = b.convBn("conv2", "bn2", z, 16, 1, 1, 0, 1, true);
        b.addRelu(w, x);                                              // unfused: conv2 has its ReLU; x read again
        oneStepKind("residual as binary add, unfused add + relu, [2, 3, 32, 32]", b.build(), input(2, 3, 32, 32, 4));
    }

    @Test
    void poolingAndClassifier() {
        NetworkSpec.Builder b = NetworkSpec.builder("head", 3);
        int x = b.convBn("conv0", "bn0", b.input(), 64, 3, 2, 1, 1, true);
        int p = b.globalAvgPool(x);
        b.linear("fc", p, 10);
        oneStepKind("global average pool + linear, [3, 3, 33, 32]", b.build(), input(3, 3, 33, 32, 5));
    }

    @Test
    void resnet50WithinTheIssuesBoundAndItsStagesAndFeatures() {
        Network net = TestNets.randomBn(Architecture.RESNET50, 11);
        Tensor x = TestNets.randomInput(2, 64, 12);
        try (DnnlInference d = new DnnlInference(net)) {
            check("resnet50 logits, [2, 3, 64, 64]", d.forward(x), CpuReference.forward(net, x), 1e-5);
            NetworkSpec fused = d.spec();
            Tensor features = d.features(x);
            check("resnet50 pooled features", features,
                    CpuReference.run(fused, net.tensors(), x, 0, fused.steps().size() - 1), 1e-5);
            int layer3End = fused.stage("layer4").firstStep();
            check("resnet50 layer3's output [2, 1024, 4, 4]", d.forwardTo(x, layer3End),
                    CpuReference.run(fused, net.tensors(), x, 0, layer3End), 1e-5);
            assertTrue(d.describe().startsWith("oneDNN "), d.describe());
        }
    }

    @Test
    void resnext50GroupedNonSquare() {
        Network net = TestNets.randomBn(Architecture.RESNEXT50_32X4D, 13);
        Tensor x = input(1, 3, 64, 96, 14);
        try (DnnlInference d = new DnnlInference(net)) {
            check("resnext50_32x4d logits, [1, 3, 64, 96]", d.forward(x), CpuReference.forward(net, x), 1e-5);
        }
    }

    @Test
    void plansForManyShapesAreRemadeWithTheSameResults() {
        Network net = TestNets.randomBn(Architecture.RESNET18, 15);
        Tensor x1 = TestNets.randomInput(1, 32, 16);
        try (DnnlInference d = new DnnlInference(net)) {
            Tensor first = d.forward(x1);
            for (int n = 2; n <= DnnlInference.PLANS + 1; n++) {  // evicts the batch-1 plan
                Tensor xn = TestNets.randomInput(n, 32, 16 + n);
                check("resnet18 batch " + n, d.forward(xn), CpuReference.forward(net, xn), 1e-5);
            }
            assertArrayEquals(first.data(), d.forward(x1).data(), "batch 1 again, on a plan made again");
        }
    }

    @Test
    void concurrentCallersEachGetTheirOwnResult() throws Exception {
        Network net = TestNets.randomBn(Architecture.RESNET18, 17);
        List<Tensor> inputs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            inputs.add(TestNets.randomInput(1 + i % 2, 32, 100 + i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try (DnnlInference d = new DnnlInference(net)) {
            List<Tensor> alone = inputs.stream().map(d::forward).toList();
            List<Future<Tensor>> together = new ArrayList<>();
            for (Tensor x : inputs) {
                together.add(pool.submit(() -> d.forward(x)));
            }
            for (int i = 0; i < inputs.size(); i++) {
                assertArrayEquals(alone.get(i).data(), together.get(i).get().data(), "input " + i);
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void badInputAndUseAfterCloseSayWhat() {
        Network net = TestNets.randomBn(Architecture.RESNET18, 19);
        DnnlInference d = new DnnlInference(net);
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> d.forward(Tensor.zeros(1, 4, 32, 32)));
        assertTrue(bad.getMessage().contains("[1, 4, 32, 32]"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> d.forwardTo(TestNets.randomInput(1, 32, 1), 0));
        d.close();
        d.close();  // idempotent
        IllegalStateException closed = assertThrows(IllegalStateException.class,
                () -> d.forward(TestNets.randomInput(1, 32, 1)));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
    }

    @Test
    void nanInTheInputIsRefusedNotDropped() {
        Network net = TestNets.randomBn(Architecture.RESNET18, 21);
        Tensor x = TestNets.randomInput(1, 32, 22);
        x.data()[5] = Float.NaN;
        try (DnnlInference d = new DnnlInference(net)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> d.forward(x));
            assertTrue(e.getMessage().contains("input"), e.getMessage());
            // Why: oneDNN's ReLU and max pool drop the NaN that the reference carries to every logit.
            assertTrue(Float.isNaN(CpuReference.forward(net, x).data()[0]));
        }
    }

    @Test
    void theLabsListenerHearsEveryStepOnceAndWarmRepeatsLeaveTheResult() {
        Network net = TestNets.randomBn(Architecture.RESNET50, 23);
        Tensor x = TestNets.randomInput(1, 64, 24);
        try (DnnlInference d = new DnnlInference(net)) {
            Tensor plain = d.forward(x);
            List<Integer> done = new ArrayList<>(), warm = new ArrayList<>();
            List<String> shapes = new ArrayList<>();
            Tensor heard = d.forward(x, new dev.jresnet.graph.StepListener() {
                @Override
                public void stepDone(int index, dev.jresnet.nn.Step step, dev.jresnet.tensor.Shape input,
                                     dev.jresnet.tensor.Shape output, long nanos) {
                    assertTrue(nanos > 0, "step " + index);
                    done.add(index);
                    shapes.add(input + " -> " + output);
                }

                @Override
                public int warmRepeats() {
                    return 2;
                }

                @Override
                public void stepWarm(int index, long nanos) {
                    warm.add(index);
                }
            });
            NetworkSpec fused = d.spec();
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < fused.steps().size(); i++) {
                all.add(i);
            }
            assertEquals(all, done);
            assertEquals("[1, 3, 64, 64] -> [1, 64, 32, 32]", shapes.get(0));
            assertEquals("[1, 2048] -> [1, 1000]", shapes.get(shapes.size() - 1));
            // Every step but those that add into their residual's buffer (each block's last convolution: 16).
            assertEquals(fused.steps().size() - 16, warm.size(), warm.toString());
            assertArrayEquals(plain.data(), heard.data(), "warm repeats changed the logits");
        }
    }

    @Test
    void aFailedCallNamesTheCallTheStatusAndTheShape() {
        DnnlException e = assertThrows(DnnlException.class, () -> Dnnl.md(dnnl_nchw(), 2, -3, 4, 4));
        assertEquals("dnnl_memory_desc_create_with_tag failed: dnnl_invalid_arguments ([2, -3, 4, 4])", e.getMessage());
    }

    private static int dnnl_nchw() {
        return org.bytedeco.dnnl.global.dnnl.dnnl_nchw;
    }
}
