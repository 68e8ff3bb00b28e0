package dev.jresnet.cuda.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.cuda.GpuTests;
import dev.jresnet.cuda.InferencePrecision;
import dev.jresnet.cuda.TestNets;
import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.Parameter;
import dev.jresnet.train.Sgd;
import dev.jresnet.train.TrainableResNet;
import dev.jresnet.train.TrainableResNet.Unfreeze;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole training steps on the GPU against the CPU TrainableResNet: same seeded model, same batch, same SGD;
 * loss, gradients and updated weights agree to fp32 rounding, frozen tensors stay bit-identical.
 */
@Tag("gpu")
class CudaTrainableResNetGpuTest {
    private static GpuTrainHarness h;
    private static ResNet50Graph pretrained;

    @BeforeEach
    void open() {
        GpuTests.assumeCudnn();
        GpuTests.assumeCublas();
        GpuTests.assumeNvrtc();
        if (h == null) {
            h = new GpuTrainHarness();
            pretrained = TestNets.randomBnGraph(21);
        }
    }

    @AfterAll
    static void close() {
        if (h != null) {
            h.close();
            h = null;
        }
    }

    private static Map<String, float[]> snapshot(ResNet50Graph g) {
        Map<String, float[]> m = new HashMap<>();
        g.visitTensors((name, t, kind) -> m.put(name, t.data().clone()));
        return m;
    }

    @ParameterizedTest(name = "unfreeze {0}, trainBn {1}")
    @CsvSource({"fc,false", "layer4,false", "layer4,true", "all,true"})
    void stepsMatchTheCpu(String unfreezeId, boolean trainBn) {
        Unfreeze u = Unfreeze.parse(unfreezeId);
        int n = u == Unfreeze.ALL ? 2 : 4, size = 64, classes = 5;
        TrainableResNet cpu = TrainableResNet.withNewHead(pretrained, classes, 3, u, trainBn);
        ResNet50Graph gpuGraph = TrainableResNet.withNewHead(pretrained, classes, 3, u, trainBn).graph();
        Map<String, float[]> before = snapshot(gpuGraph);
        Tensor x = TestNets.randomInput(n, size, 8);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = (i * 3) % classes;
        }
        float smoothing = 0.1f;
        try (CudaTrainableResNet gpu = CudaTrainableResNet.on(h.context, h.kernels, gpuGraph, u, trainBn,
                InferencePrecision.FP32)) {
            assertEquals(cpu.parameters().stream().map(Parameter::name).toList(),
                    gpu.parameters().stream().map(DeviceParameter::name).toList(), "parameter names and order");

            // frozen prefix and eval logits
            Tensor fc = cpu.forwardFrozen(x), fg = gpu.forwardFrozen(x);
            assertTrue(TestNets.relL2(fg.data(), fc.data()) <= 1e-5, "frozen features " + TestNets.relL2(fg.data(), fc.data()));
            Tensor ec = cpu.evalLogits(x), eg = gpu.evalLogits(x);
            assertTrue(TestNets.relL2(eg.data(), ec.data()) <= 1e-5, "eval logits " + TestNets.relL2(eg.data(), ec.data()));

            // one forward/backward, gradients compared
            cpu.zeroGrad();
            gpu.zeroGrad();
            Tensor lc = cpu.forwardTrain(x), lg = gpu.forwardTrain(x);
            double logitErr = TestNets.relL2(lg.data(), lc.data());
            System.out.printf("%s trainBn=%s: logits rel L2 %.3e%n", u.id(), trainBn, logitErr);
            assertTrue(logitErr <= 1e-5, "training logits " + logitErr);
            Tensor dc = Tensor.zeros(lc.shape());
            float lossC = CpuGrads.softmaxCrossEntropy(dc, lc, labels, smoothing);
            float[] lossG = new float[1];
            Tensor dg = gpu.lossGradient(labels, smoothing, lossG);
            assertEquals(lossC, lossG[0], Math.abs(lossC) * 1e-5, "loss");
            cpu.backward(dc);
            gpu.backward(dc); // the CPU's dLogits: the gradients then differ only by the backward itself
            Map<String, Tensor> grads = gpu.gradients();
            double worst = 0;
            String worstName = "";
            for (Parameter p : cpu.parameters()) {
                double e = TestNets.relL2(grads.get(p.name()).data(), p.grad().data());
                if (e > worst) {
                    worst = e;
                    worstName = p.name();
                }
            }
            System.out.printf("%s trainBn=%s: worst gradient rel L2 %.3e (%s); dLogits rel L2 %.3e%n", u.id(), trainBn,
                    worst, worstName, TestNets.relL2(dg.data(), dc.data()));
            assertTrue(worst <= 1e-4, "gradient of " + worstName + ": rel L2 " + worst);

            // three full steps with SGD (momentum, weight decay)
            Sgd sgdC = new Sgd(0.9f, 1e-4f, false);
            try (GpuOptimizer sgdG = GpuOptimizer.sgd(0.9f, 1e-4f, false)) {
                for (int step = 0; step < 3; step++) {
                    cpu.zeroGrad();
                    Tensor l = cpu.forwardTrain(x);
                    Tensor d = Tensor.zeros(l.shape());
                    float loss = CpuGrads.softmaxCrossEntropy(d, l, labels, smoothing);
                    cpu.backward(d);
                    sgdC.step(cpu.parameters(), 0.01f);
                    CudaTrainableResNet.StepResult r = gpu.trainStep(x, labels, 0.01f, sgdG, smoothing, Float.NaN);
                    System.out.printf("step %d: loss cpu %.7f gpu %.7f%n", step, loss, r.loss());
                    assertEquals(loss, r.loss(), Math.abs(loss) * 1e-5, "loss at step " + step);
                }
            }
            ResNet50Graph synced = gpu.syncToGraph();
            Map<String, float[]> cpuNow = snapshot(cpu.graph());
            Map<String, float[]> gpuNow = snapshot(synced);
            double worstW = 0;
            String worstWName = "";
            for (String name : before.keySet()) {
                int stage = CudaTrainableResNet.stageOf(name);
                if (stage < CudaTrainableResNet.firstStage(u)) {
                    assertArrayEquals(before.get(name), gpu.deviceTensor(name).data(), "frozen " + name + " on the device");
                    assertArrayEquals(before.get(name), gpuNow.get(name), "frozen " + name);
                } else {
                    double e = TestNets.relL2(gpuNow.get(name), cpuNow.get(name));
                    if (e > worstW) {
                        worstW = e;
                        worstWName = name;
                    }
                }
            }
            System.out.printf("%s trainBn=%s: worst updated tensor rel L2 %.3e (%s)%n", u.id(), trainBn, worstW, worstWName);
            assertTrue(worstW <= 1e-5, "updated " + worstWName + ": rel L2 " + worstW);
        }
    }

    @ParameterizedTest(name = "feature cache, unfreeze {0}")
    @CsvSource({"fc", "layer4"})
    void trainStepFromFrozenMatchesTrainStep(String unfreezeId) {
        Unfreeze u = Unfreeze.parse(unfreezeId);
        ResNet50Graph g1 = TrainableResNet.withNewHead(pretrained, 4, 5, u, false).graph();
        ResNet50Graph g2 = TrainableResNet.withNewHead(pretrained, 4, 5, u, false).graph();
        Tensor x = TestNets.randomInput(3, 64, 9);
        int[] labels = {1, 0, 3};
        try (CudaTrainableResNet a = CudaTrainableResNet.on(h.context, h.kernels, g1, u, false, InferencePrecision.FP32);
             CudaTrainableResNet b = CudaTrainableResNet.on(h.context, h.kernels, g2, u, false, InferencePrecision.FP32);
             GpuOptimizer oa = GpuOptimizer.adamw(0.9f, 0.999f, 1e-8f, 0.01f);
             GpuOptimizer ob = GpuOptimizer.adamw(0.9f, 0.999f, 1e-8f, 0.01f)) {
            Tensor frozen = b.forwardFrozen(x);
            for (int step = 0; step < 2; step++) {
                float la = a.trainStep(x, labels, 1e-3f, oa, 0f, 1f).loss();
                float lb = b.trainStepFromFrozen(frozen, labels, 1e-3f, ob, 0f, 1f).loss();
                assertEquals(la, lb, Math.abs(la) * 1e-6, "same computation from the cached features");
            }
            a.syncToGraph();
            b.syncToGraph();
            assertArrayEquals(g1.fc.weight.data(), g2.fc.weight.data());
        }
    }
}
