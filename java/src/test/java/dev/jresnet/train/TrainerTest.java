package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.CpuReference;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.TestNets;
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

/** Freezing, head replacement and the training API of the Trainer on the CPU, on seeded untrained weights. */
class TrainerTest {
    private static Network pretrained;
    private static Tensor x;

    @BeforeAll
    static void setUp() {
        pretrained = new Network(Architecture.imagenet());
        WeightBinding.initialise(pretrained, 99);
        x = Tensor.zeros(2, 3, 64, 64);
        Random rnd = new Random(5);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] = (float) rnd.nextGaussian();
        }
    }

    private static Map<String, float[]> snapshot(Network g) {
        Map<String, float[]> m = new HashMap<>();
        g.visitTensors((name, t, kind) -> m.put(name, t.data().clone()));
        return m;
    }

    private static Trainer<Tensor> trainer(Network net, Unfreeze u, boolean trainBn) {
        return Trainer.cpu(net, u, trainBn, new Sgd(0.9f, 1e-4f, false), 0f, 0f);
    }

    /** The Java optimizers' view of a CPU trainer's parameters. */
    static List<Parameter> parameters(Trainer<Tensor> t) {
        return t.parameters().stream().map(p -> new Parameter(p.name(), p.value(), p.grad())).toList();
    }

    private static String stage(String name) {
        return name.startsWith("layer") ? name.substring(0, 6) : name.startsWith("fc.") ? "fc" : "stem";
    }

    @Test
    void frozenTensorsStayBitIdenticalWhileTrainableOnesMove() {
        Trainer<Tensor> net = trainer(pretrained.withNewHead(3, 7), Unfreeze.LAYER4, true);
        Map<String, float[]> before = snapshot(net.network());
        Sgd sgd = new Sgd(0.9f, 1e-4f, false);
        for (int step = 0; step < 2; step++) {
            net.zeroGrad();
            Tensor logits = net.forwardTrain(x, false);
            Tensor d = Tensor.zeros(logits.shape());
            CpuGrads.softmaxCrossEntropy(d, logits, new int[] {0, 2}, 0.1f);
            net.backward(d);
            sgd.step(parameters(net), 0.01f);
        }
        List<String> moved = new ArrayList<>();
        net.network().visitTensors((name, t, kind) -> {
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
        Trainer<Tensor> fc = trainer(pretrained, Unfreeze.FC, false);
        assertEquals(List.of("fc.weight", "fc.bias"), fc.parameters().stream().map(Param::name).toList());
        Trainer<Tensor> all = trainer(pretrained, Unfreeze.ALL, false);
        List<String> names = new ArrayList<>();
        pretrained.visitTensors((name, t, kind) -> {
            if (kind == dev.jresnet.nn.TensorVisitor.Kind.PARAMETER) {
                names.add(name);
            }
        });
        assertEquals(names, all.parameters().stream().map(Param::name).toList());
        Trainer<Tensor> l3 = trainer(pretrained, Unfreeze.LAYER3, true);
        assertTrue(l3.parameters().stream().allMatch(p -> p.name().matches("(layer3|layer4|fc)\\..*")));
        assertEquals(Unfreeze.LAYER2, Unfreeze.parse(" Layer2"));
        assertThrows(IllegalArgumentException.class, () -> Unfreeze.parse("layer5"));
    }

    @Test
    void frozenBatchNormTrainingForwardEqualsInferenceAndFeaturesSplitTheForward() {
        Trainer<Tensor> net = trainer(pretrained, Unfreeze.LAYER3, false);
        Tensor eval = net.evalLogits(x, false);
        assertArrayEquals(CpuReference.forward(pretrained, x).data(), eval.data(), "eval is the reference forward");
        Tensor train = net.forwardTrain(x, false);
        assertArrayEquals(eval.data(), train.data(), 1e-5f * 50);
        net.backward(Tensor.zeros(train.shape()));

        Trainer<Tensor> head = trainer(pretrained, Unfreeze.FC, false);
        Tensor features = head.frozenFeatures(x);
        assertArrayEquals(new int[] {2, 2048}, features.shape().dims());
        assertArrayEquals(TestNets.bitwiseFastPath(pretrained).features(x).data(), features.data());
        assertArrayEquals(eval.data(), head.forwardTrain(features, true).data(), 1e-5f * 50);
        assertArrayEquals(new int[] {2048}, head.frozenShape(64));
        assertArrayEquals(new int[] {1024, 4, 4}, trainer(pretrained, Unfreeze.LAYER4, false).frozenShape(64));
        var e = assertThrows(IllegalArgumentException.class, () -> head.forwardTrain(Tensor.zeros(2, 1024, 4, 4), true));
        assertTrue(e.getMessage().contains("[N, 2048]"), e.getMessage());
    }

    @Test
    void headOnlyGradientsMatchTheLinearBackward() {
        Trainer<Tensor> net = trainer(pretrained.withNewHead(4, 1), Unfreeze.FC, false);
        Tensor f = net.frozenFeatures(x);
        Tensor logits = net.forwardTrain(f, true);
        Tensor d = Tensor.zeros(logits.shape());
        CpuGrads.softmaxCrossEntropy(d, logits, new int[] {3, 1}, 0f);
        net.backward(d);
        net.forwardTrain(f, true);
        net.backward(d);                                       // gradients accumulate until zeroGrad
        Tensor dw = Tensor.zeros(4, 2048), db = Tensor.zeros(4);
        CpuGrads.linearBackward(null, dw, db, d, f, net.network().tensor("fc.weight"));
        for (int i = 0; i < dw.size(); i++) {
            // The second backward accumulates inside the GEMM (C += A*B), which rounds once less than a + a.
            float expected = 2 * dw.data()[i];
            assertEquals(expected, net.parameters().get(0).grad().data()[i], 1e-6 * Math.max(1, Math.abs(expected)));
        }
        net.zeroGrad();
        assertTrue(net.parameters().stream().allMatch(p -> allZero(p.grad())));
        assertThrows(IllegalStateException.class, () -> net.backward(d), "backward after backward needs a new forward");
        net.forwardTrain(f, true);
        assertThrows(IllegalArgumentException.class, () -> net.backward(Tensor.zeros(2, 5)));
    }

    @Test
    void newHeadIsTorchvisionsLinearInitialisationAndLeavesThePretrainedGraphAlone() {
        Map<String, float[]> before = snapshot(pretrained);
        Network a = pretrained.withNewHead(10, 42);
        Network b = pretrained.withNewHead(10, 42);
        Network c = pretrained.withNewHead(10, 43);
        assertEquals(10, a.numClasses());
        Tensor w = a.tensor("fc.weight");
        assertArrayEquals(new int[] {10, 2048}, w.shape().dims());
        assertArrayEquals(w.data(), b.tensor("fc.weight").data(), "same seed, same head");
        assertFalse(java.util.Arrays.equals(w.data(), c.tensor("fc.weight").data()));
        double bound = 1 / Math.sqrt(2048), sumSq = 0;
        for (float v : w.data()) {
            assertTrue(Math.abs(v) <= bound, v + " outside +-1/sqrt(2048)");
            sumSq += v * v;
        }
        // U(-b, b) has variance b^2/3
        assertEquals(bound * bound / 3, sumSq / w.size(), 0.05 * bound * bound / 3);
        for (float v : a.tensor("fc.bias").data()) {
            assertTrue(Math.abs(v) <= bound && v != 0f);
        }
        assertArrayEquals(pretrained.tensor("layer2.1.conv2.weight").data(), a.tensor("layer2.1.conv2.weight").data());
        Map<String, float[]> after = snapshot(pretrained);
        before.forEach((name, v) -> assertArrayEquals(v, after.get(name), name));
        assertEquals(a.parameterCount(), WeightBinding.export(a, Map.of()).entries().values().stream()
                .filter(en -> !en.name().contains("running")).mapToLong(en -> en.floats().size()).sum());
    }

    @Test
    void sizedTransformsAndEvalFromFrozenAgreeWithTheWholeNetwork() {
        Network initialised = Network.initialised(Architecture.imagenet(), 2);
        Trainer<Tensor> net = trainer(initialised.withNewHead(3, 1), Unfreeze.LAYER3, false);
        Tensor x = Tensor.zeros(2, 3, 40, 40);
        java.util.Random rnd = new java.util.Random(3);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] = (float) rnd.nextGaussian();
        }
        Tensor frozen = net.frozenFeatures(x);
        assertArrayEquals(new int[] {2, 512, 5, 5}, frozen.shape().dims());
        assertArrayEquals(new int[] {512, 5, 5}, net.frozenShape(40));
        assertArrayEquals(net.evalLogits(x, false).data(), net.evalLogits(frozen, true).data());
        assertEquals(37, Transforms.resizeFor(dev.jresnet.image.Preset.TORCHVISION_V1, 32));
        assertEquals(256, Transforms.resizeFor(dev.jresnet.image.Preset.TORCHVISION_V1, 224));
        assertEquals(33, Transforms.resizeFor(dev.jresnet.image.Preset.TORCHVISION_V2, 32));
        // At 224 the sized transform is the preset's own, bit for bit.
        var image = SyntheticShapes.draw("red_circle", 300, new SplitMix64(1));
        byte[] px = new byte[300 * 300 * 3];
        for (int y = 0; y < 300; y++) {
            for (int xx = 0; xx < 300; xx++) {
                int v = image.getRGB(xx, y);
                px[(y * 300 + xx) * 3] = (byte) (v >> 16);
                px[(y * 300 + xx) * 3 + 1] = (byte) (v >> 8);
                px[(y * 300 + xx) * 3 + 2] = (byte) v;
            }
        }
        var rgb = new dev.jresnet.image.RgbImage(300, 300, px);
        assertArrayEquals(dev.jresnet.image.Preset.TORCHVISION_V1.preprocess(rgb).data(),
                Transforms.eval(dev.jresnet.image.Preset.TORCHVISION_V1, 224).apply(rgb, null).data());
        Tensor small = Transforms.eval(dev.jresnet.image.Preset.TORCHVISION_V1, 64).apply(rgb, null);
        assertArrayEquals(new int[] {3, 64, 64}, small.shape().dims());
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
