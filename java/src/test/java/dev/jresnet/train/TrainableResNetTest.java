package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.resnet.ResNet50Config;
import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.resnet.WeightBinding;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Freezing, head replacement and the training API of TrainableResNet, on seeded untrained weights. */
class TrainableResNetTest {
    private static ResNet50Graph pretrained;
    private static Tensor x;

    @BeforeAll
    static void setUp() {
        pretrained = new ResNet50Graph(ResNet50Config.imagenet());
        WeightBinding.initialise(pretrained, 99);
        x = Tensor.zeros(2, 3, 64, 64);
        Random rnd = new Random(5);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] = (float) rnd.nextGaussian();
        }
    }

    private static Map<String, float[]> snapshot(ResNet50Graph g) {
        Map<String, float[]> m = new HashMap<>();
        g.visitTensors((name, t, kind) -> m.put(name, t.data().clone()));
        return m;
    }

    private static String stage(String name) {
        return name.startsWith("layer") ? name.substring(0, 6) : name.startsWith("fc.") ? "fc" : "stem";
    }

    @Test
    void frozenTensorsStayBitIdenticalWhileTrainableOnesMove() {
        TrainableResNet net = TrainableResNet.withNewHead(pretrained, 3, 7, TrainableResNet.Unfreeze.LAYER4, true);
        Map<String, float[]> before = snapshot(net.graph());
        Sgd sgd = new Sgd(0.9f, 1e-4f, false);
        for (int step = 0; step < 2; step++) {
            net.zeroGrad();
            Tensor logits = net.forwardTrain(x);
            Tensor d = Tensor.zeros(logits.shape());
            CpuGrads.softmaxCrossEntropy(d, logits, new int[] {0, 2}, 0.1f);
            net.backward(d);
            sgd.step(net.parameters(), 0.01f);
        }
        List<String> moved = new ArrayList<>();
        net.graph().visitTensors((name, t, kind) -> {
            boolean trainable = stage(name).equals("layer4") || stage(name).equals("fc");
            if (trainable) {
                if (!java.util.Arrays.equals(before.get(name), t.data())) {
                    moved.add(name);
                }
            } else {
                assertArrayEquals(before.get(name), t.data(), name + " is frozen and must not change at all");
            }
        });
        // every layer4/fc parameter and (trainBn) running statistic changed
        long expected = before.keySet().stream().filter(n -> stage(n).equals("layer4") || stage(n).equals("fc")).count();
        assertEquals(expected, moved.size(), "changed: " + moved);
    }

    @Test
    void parametersAreTheTrainableStagesInStateDictOrder() {
        TrainableResNet fc = TrainableResNet.of(pretrained, TrainableResNet.Unfreeze.FC, false);
        assertEquals(List.of("fc.weight", "fc.bias"), fc.parameters().stream().map(Parameter::name).toList());
        TrainableResNet all = TrainableResNet.of(pretrained, TrainableResNet.Unfreeze.ALL, false);
        List<String> names = new ArrayList<>();
        pretrained.visitTensors((name, t, kind) -> {
            if (kind == dev.jresnet.nn.TensorVisitor.Kind.PARAMETER) {
                names.add(name);
            }
        });
        assertEquals(names, all.parameters().stream().map(Parameter::name).toList());
        TrainableResNet l3 = TrainableResNet.of(pretrained, TrainableResNet.Unfreeze.LAYER3, true);
        assertTrue(l3.parameters().stream().allMatch(p -> p.name().matches("(layer3|layer4|fc)\\..*")));
        assertEquals(TrainableResNet.Unfreeze.LAYER2, TrainableResNet.Unfreeze.parse(" Layer2"));
        assertThrows(IllegalArgumentException.class, () -> TrainableResNet.Unfreeze.parse("layer5"));
    }

    @Test
    void frozenBatchNormTrainingForwardEqualsInferenceAndFeaturesSplitTheForward() {
        TrainableResNet net = TrainableResNet.of(pretrained, TrainableResNet.Unfreeze.LAYER3, false);
        Tensor eval = net.evalLogits(x);
        Tensor train = net.forwardTrain(x);
        assertArrayEquals(eval.data(), train.data(), 1e-5f * 50);
        net.backward(Tensor.zeros(train.shape()));

        TrainableResNet head = TrainableResNet.of(pretrained, TrainableResNet.Unfreeze.FC, false);
        Tensor features = head.forwardFrozen(x);
        assertArrayEquals(new int[] {2, 2048}, features.shape().dims());
        assertArrayEquals(pretrained.features(x).data(), features.data());
        assertArrayEquals(eval.data(), head.forwardFromFrozen(features).data(), 1e-5f * 50);
        var e = assertThrows(IllegalArgumentException.class, () -> head.forwardFromFrozen(Tensor.zeros(2, 1024, 4, 4)));
        assertTrue(e.getMessage().contains("[N, 2048]"), e.getMessage());
    }

    @Test
    void headOnlyGradientsMatchTheLinearBackward() {
        TrainableResNet net = TrainableResNet.withNewHead(pretrained, 4, 1, TrainableResNet.Unfreeze.FC, false);
        Tensor f = net.forwardFrozen(x);
        Tensor logits = net.forwardFromFrozen(f);
        Tensor d = Tensor.zeros(logits.shape());
        CpuGrads.softmaxCrossEntropy(d, logits, new int[] {3, 1}, 0f);
        net.backward(d);
        net.forwardFromFrozen(f);
        net.backward(d);                                       // gradients accumulate until zeroGrad
        Tensor dw = Tensor.zeros(4, 2048), db = Tensor.zeros(4);
        CpuGrads.linearBackward(null, dw, db, d, f, net.graph().fc.weight);
        for (int i = 0; i < dw.size(); i++) {
            // The second backward accumulates inside the GEMM (C += A*B), which rounds once less than a + a.
            float expected = 2 * dw.data()[i];
            assertEquals(expected, net.parameters().get(0).grad().data()[i], 1e-6 * Math.max(1, Math.abs(expected)));
        }
        net.zeroGrad();
        assertTrue(net.parameters().stream().allMatch(p -> allZero(p.grad())));
        assertThrows(IllegalStateException.class, () -> net.backward(d), "backward after backward needs a new forward");
        net.forwardFromFrozen(f);
        assertThrows(IllegalArgumentException.class, () -> net.backward(Tensor.zeros(2, 5)));
    }

    @Test
    void newHeadIsTorchvisionsLinearInitialisationAndLeavesThePretrainedGraphAlone() {
        Map<String, float[]> before = snapshot(pretrained);
        TrainableResNet a = TrainableResNet.withNewHead(pretrained, 10, 42, TrainableResNet.Unfreeze.FC, false);
        TrainableResNet b = TrainableResNet.withNewHead(pretrained, 10, 42, TrainableResNet.Unfreeze.FC, false);
        TrainableResNet c = TrainableResNet.withNewHead(pretrained, 10, 43, TrainableResNet.Unfreeze.FC, false);
        assertEquals(10, a.numClasses());
        assertArrayEquals(new int[] {10, 2048}, a.graph().fc.weight.shape().dims());
        assertArrayEquals(a.graph().fc.weight.data(), b.graph().fc.weight.data(), "same seed, same head");
        assertFalse(java.util.Arrays.equals(a.graph().fc.weight.data(), c.graph().fc.weight.data()));
        double bound = 1 / Math.sqrt(2048), sumSq = 0;
        for (float v : a.graph().fc.weight.data()) {
            assertTrue(Math.abs(v) <= bound, v + " outside +-1/sqrt(2048)");
            sumSq += v * v;
        }
        // U(-b, b) has variance b^2/3
        assertEquals(bound * bound / 3, sumSq / a.graph().fc.weight.size(), 0.05 * bound * bound / 3);
        for (float v : a.graph().fc.bias.data()) {
            assertTrue(Math.abs(v) <= bound && v != 0f);
        }
        assertArrayEquals(pretrained.layer2.get(1).conv2.weight.data(), a.graph().layer2.get(1).conv2.weight.data());
        Map<String, float[]> after = snapshot(pretrained);
        before.forEach((name, v) -> assertArrayEquals(v, after.get(name), name));
        assertEquals(a.graph().parameterCount(), a.exportWeights(Map.of()).entries().values().stream()
                .filter(en -> !en.name().contains("running")).mapToLong(en -> en.floats().size()).sum());
    }

    private static boolean allZero(Tensor t) {
        for (float v : t.data()) {
            if (v != 0f) {
                return false;
            }
        }
        return true;
    }
}
