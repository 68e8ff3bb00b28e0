package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A trainer's whole step does exactly what a hand-written loop over its forward and backward does. */
class TrainerStepTest {
    @Test
    void stepsEqualTheHandWrittenLoop() {
        Network pretrained = new Network(Architecture.imagenet());
        WeightBinding.initialise(pretrained, 3);
        Tensor x = Tensor.zeros(2, 3, 32, 32);
        Random r = new Random(1);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] = (float) r.nextGaussian();
        }
        int[] labels = {1, 2};
        Sgd sa = new Sgd(0.9f, 1e-4f, false);
        Trainer<Tensor> a = Trainer.cpu(pretrained.withNewHead(3, 4), Unfreeze.FC, false, sa, 0f, 0f);
        try (TrainingBackend backend = Trainer.cpu(pretrained.withNewHead(3, 4), Unfreeze.FC, false,
                new Sgd(0.9f, 1e-4f, false), 0.1f, 1f)) {
            assertTrue(backend.description().startsWith("cpu"), backend.description());
            Tensor frozen = backend.frozenFeatures(x);
            assertArrayEquals(a.frozenFeatures(x).data(), frozen.data());
            for (int step = 0; step < 2; step++) {
                a.zeroGrad();
                Tensor l = a.forwardTrain(x, false);
                Tensor d = Tensor.zeros(l.shape());
                float loss = CpuGrads.softmaxCrossEntropy(d, l, labels, 0.1f);
                a.backward(d);
                float norm = GradClipping.clipGlobalNorm(TrainerTest.parameters(a), 1f);
                sa.step(TrainerTest.parameters(a), 0.05f);
                TrainingBackend.StepResult s = backend.trainStep(step == 0 ? x : frozen, step != 0, labels, 0.05f);
                assertEquals(loss, s.loss(), 0f);
                assertEquals(norm, s.gradNorm(), 0f);
                assertArrayEquals(l.data(), s.logits().data());
            }
            assertArrayEquals(a.network().tensor("fc.weight").data(), backend.weights().get("fc.weight").data());
            assertArrayEquals(a.evalLogits(x, false).data(), backend.evalLogits(x, false).data());
            assertArrayEquals(a.evalLogits(x, false).data(), backend.evalLogits(frozen, true).data());
            assertEquals(sa.state().keySet(), backend.optimizer().state().keySet());
            for (var e : sa.state().entrySet()) {
                assertArrayEquals(e.getValue().data(), backend.optimizer().state().get(e.getKey()).data(), e.getKey());
            }
        }
    }
}
