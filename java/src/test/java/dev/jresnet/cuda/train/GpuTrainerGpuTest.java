package dev.jresnet.cuda.train;

import dev.jresnet.testing.TestNets;
import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.cuda.CudaContext;
import dev.jresnet.cuda.GpuTensor;
import dev.jresnet.cuda.GpuTests;
import dev.jresnet.cuda.Kernels;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.Param;
import dev.jresnet.train.Sgd;
import dev.jresnet.train.Trainer;
import dev.jresnet.train.Unfreeze;
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
 * The trainer on the GPU twins against the same trainer on the CPU reference ops: same seeded model, same batch,
 * same SGD; frozen features, logits, loss, every gradient and the updated weights agree to fp32 rounding, and frozen
 * tensors stay bit-identical on the device. The walk is the same code on both; this checks the device ops in it.
 */
@Tag("gpu")
class GpuTrainerGpuTest {
    private static CudaContext context;
    private static Kernels kernels;

    @BeforeEach
    void open() {
        GpuTests.assumeCudnn();
        GpuTests.assumeCublas();
        GpuTests.assumeNvrtc();
        if (context == null) {
            context = CudaContext.open(0);
            kernels = Kernels.load(context);
        }
    }

    @AfterAll
    static void close() {
        if (context != null) {
            kernels.close();
            context.close();
            context = null;
        }
    }

    private static Map<String, float[]> snapshot(Network g) {
        Map<String, float[]> m = new HashMap<>();
        g.visitTensors((name, t, kind) -> m.put(name, t.data().clone()));
        return m;
    }

    @ParameterizedTest(name = "{0}, unfreeze {1}, trainBn {2}")
    @CsvSource({"resnet50,fc,false", "resnet50,layer4,false", "resnet50,layer4,true", "resnet50,all,true",
            "resnet18,layer3,true", "resnext50_32x4d,layer4,false"})
    void stepsMatchTheCpu(String arch, String unfreezeId, boolean trainBn) {
        Unfreeze u = Unfreeze.parse(unfreezeId);
        int n = u == Unfreeze.ALL ? 2 : 4, size = 64, classes = 5;
        Network pretrained = TestNets.randomBn(Architecture.of(arch), 21);
        Tensor x = TestNets.randomInput(n, size, 8);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = (i * 3) % classes;
        }
        float smoothing = 0.1f;
        Map<String, float[]> before = snapshot(pretrained.withNewHead(classes, 3));
        try (Trainer<Tensor> cpu = Trainer.cpu(pretrained.withNewHead(classes, 3), u, trainBn,
                new Sgd(0.9f, 1e-4f, false), smoothing, 0f);
             Trainer<GpuTensor> gpu = new Trainer<>(pretrained.withNewHead(classes, 3),
                     new GpuTrainDevice(context, kernels, Precision.FP32, new Sgd(0.9f, 1e-4f, false)), u, trainBn,
                     smoothing, 0f)) {
            assertEquals(cpu.parameters().stream().map(Param::name).toList(),
                    gpu.parameters().stream().map(Param::name).toList(), "parameter names and order");

            Tensor fc = cpu.frozenFeatures(x), fg = gpu.frozenFeatures(x);
            assertTrue(TestNets.relL2(fg.data(), fc.data()) <= 1e-5, "frozen features " + TestNets.relL2(fg.data(), fc.data()));
            Tensor ec = cpu.evalLogits(x, false), eg = gpu.evalLogits(x, false);
            assertTrue(TestNets.relL2(eg.data(), ec.data()) <= 1e-5, "eval logits " + TestNets.relL2(eg.data(), ec.data()));

            // one forward/backward from the same dLogits: the gradients differ only by the backward itself
            cpu.zeroGrad();
            gpu.zeroGrad();
            Tensor lc = cpu.forwardTrain(x, false), lg = gpu.forwardTrain(x, false);
            double logitErr = TestNets.relL2(lg.data(), lc.data());
            System.out.printf("%s %s trainBn=%s: logits rel L2 %.3e%n", arch, u.id(), trainBn, logitErr);
            assertTrue(logitErr <= 1e-5, "training logits " + logitErr);
            Tensor dc = Tensor.zeros(lc.shape());
            CpuGrads.softmaxCrossEntropy(dc, lc, labels, smoothing);
            cpu.backward(dc);
            gpu.backward(dc);
            Map<String, Tensor> gc = cpu.gradients(), gg = gpu.gradients();
            double worst = 0;
            String worstName = "";
            for (String name : gc.keySet()) {
                double e = TestNets.relL2(gg.get(name).data(), gc.get(name).data());
                if (e > worst) {
                    worst = e;
                    worstName = name;
                }
            }
            System.out.printf("%s %s trainBn=%s: worst gradient rel L2 %.3e (%s)%n", arch, u.id(), trainBn, worst,
                    worstName);
            assertTrue(worst <= 1e-4, "gradient of " + worstName + ": rel L2 " + worst);

            for (int step = 0; step < 3; step++) {
                float a = cpu.trainStep(x, false, labels, 0.01f).loss();
                float b = gpu.trainStep(x, false, labels, 0.01f).loss();
                System.out.printf("step %d: loss cpu %.7f gpu %.7f%n", step, a, b);
                assertEquals(a, b, Math.abs(a) * 1e-5, "loss at step " + step);
            }
            Map<String, Tensor> cpuNow = cpu.weights(), gpuNow = gpu.weights();
            int first = pretrained.spec().stage(u.firstStage()).firstStep();
            java.util.Set<String> trainable = new java.util.HashSet<>();
            for (Param<Tensor> p : cpu.parameters()) {
                trainable.add(p.name());
            }
            double worstW = 0;
            String worstWName = "";
            for (String name : before.keySet()) {
                boolean frozen = !trainable.contains(name) && !(trainBn && trainable.contains(
                        name.replace("running_mean", "weight").replace("running_var", "weight")));
                if (frozen) {
                    assertArrayEquals(before.get(name), gpuNow.get(name).data(), "frozen " + name);
                } else {
                    double e = TestNets.relL2(gpuNow.get(name).data(), cpuNow.get(name).data());
                    if (e > worstW) {
                        worstW = e;
                        worstWName = name;
                    }
                }
            }
            System.out.printf("%s %s trainBn=%s: worst updated tensor rel L2 %.3e (%s), first trainable step %d%n",
                    arch, u.id(), trainBn, worstW, worstWName, first);
            assertTrue(worstW <= 1e-5, "updated " + worstWName + ": rel L2 " + worstW);
        }
    }

    @ParameterizedTest(name = "feature cache, unfreeze {0}")
    @CsvSource({"fc", "layer4"})
    void stepsFromFrozenFeaturesMatchStepsFromImages(String unfreezeId) {
        Unfreeze u = Unfreeze.parse(unfreezeId);
        Network pretrained = TestNets.randomBnGraph(23);
        Tensor x = TestNets.randomInput(3, 64, 9);
        int[] labels = {1, 0, 3};
        try (Trainer<GpuTensor> a = GpuTrainDevice.trainer(pretrained.withNewHead(4, 5), u, false,
                new dev.jresnet.train.AdamW(0.9f, 0.999f, 1e-8f, 0.01f), 0f, 1f, 0, Precision.FP32);
             Trainer<GpuTensor> b = GpuTrainDevice.trainer(pretrained.withNewHead(4, 5), u, false,
                     new dev.jresnet.train.AdamW(0.9f, 0.999f, 1e-8f, 0.01f), 0f, 1f, 0, Precision.FP32)) {
            Tensor frozen = b.frozenFeatures(x);
            for (int step = 0; step < 2; step++) {
                float la = a.trainStep(x, false, labels, 1e-3f).loss();
                float lb = b.trainStep(frozen, true, labels, 1e-3f).loss();
                assertEquals(la, lb, Math.abs(la) * 1e-6, "same computation from the cached features");
            }
            assertArrayEquals(a.weights().get("fc.weight").data(), b.weights().get("fc.weight").data());
        }
    }
}
