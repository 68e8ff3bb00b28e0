package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet50Config;
import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.resnet.WeightBinding;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU TrainingBackend does exactly what a hand-written loop over TrainableResNet does. */
class CpuTrainingBackendTest {
    @Test
    void stepsEqualTheHandWrittenLoop() {
        ResNet50Graph pretrained = new ResNet50Graph(ResNet50Config.imagenet());
        WeightBinding.initialise(pretrained, 3);
        Tensor x = Tensor.zeros(2, 3, 32, 32);
        Random r = new Random(1);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] = (float) r.nextGaussian();
        }
        int[] labels = {1, 2};
        TrainableResNet a = TrainableResNet.withNewHead(pretrained, 3, 4, TrainableResNet.Unfreeze.FC, false);
        TrainableResNet b = TrainableResNet.withNewHead(pretrained, 3, 4, TrainableResNet.Unfreeze.FC, false);
        Sgd sa = new Sgd(0.9f, 1e-4f, false);
        try (TrainingBackend backend = TrainingBackend.create(Device.cpu(), b, new Sgd(0.9f, 1e-4f, false), 0.1f,
                1f)) {
            assertTrue(backend.description().startsWith("cpu"), backend.description());
            Tensor frozen = backend.frozenFeatures(x);
            assertArrayEquals(a.forwardFrozen(x).data(), frozen.data());
            for (int step = 0; step < 2; step++) {
                a.zeroGrad();
                Tensor l = a.forwardTrain(x);
                Tensor d = Tensor.zeros(l.shape());
                float loss = CpuGrads.softmaxCrossEntropy(d, l, labels, 0.1f);
                a.backward(d);
                float norm = GradClipping.clipGlobalNorm(a.parameters(), 1f);
                sa.step(a.parameters(), 0.05f);
                TrainingBackend.StepResult s = backend.trainStep(step == 0 ? x : frozen, step != 0, labels, 0.05f);
                assertEquals(loss, s.loss(), 0f);
                assertEquals(norm, s.gradNorm(), 0f);
                assertArrayEquals(l.data(), s.logits().data());
            }
            assertArrayEquals(a.graph().fc.weight.data(), backend.weights().get("fc.weight").data());
            assertArrayEquals(a.evalLogits(x).data(), backend.evalLogits(x, false).data());
            assertArrayEquals(a.evalLogits(x).data(), backend.evalLogits(frozen, true).data());
            assertEquals(sa.state().keySet(), backend.optimizer().state().keySet());
            for (var e : sa.state().entrySet()) {
                assertArrayEquals(e.getValue().data(), backend.optimizer().state().get(e.getKey()).data(), e.getKey());
            }
        }
    }
}
