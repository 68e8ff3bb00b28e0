package dev.jresnet.cuda.train;

import dev.jresnet.testing.TestNets;
import dev.jresnet.testing.UpdateComparison;
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

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer on the GPU twins against the same trainer on the CPU reference ops: same seeded model, same batch,
 * same SGD; frozen features, logits, loss, every gradient and what the steps changed agree to fp32 rounding: the
 * update (after - before) of every trainable tensor and train-mode running statistic ({@link UpdateComparison}),
 * and their final values, while every other tensor stays bit-identical on the device. The walk is the same code on
 * both; this checks the device ops in it.
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

    /**
     * The bound on the relative L2 difference of each tensor's update, beside 2 float32 resolutions of its final
     * values (see {@link UpdateComparison}). Not yet measured on a GPU: measured instead between jresnet's CPU trainer
     * and torch 1.13 on the CPU (another fp32 implementation) over these same runs (weights, batches, rates, steps):
     * at most 4.0e-4 beside the 2 resolutions (resnet50 layer4 with train-mode BatchNorm, layer4.2.bn2.bias), every
     * other run within the 2 resolutions. A tensor whose update the device missed differs by 1.
     */
    static final double UPDATE = 2e-3;
    /** The bound on each changed tensor's final value (relative L2): measured as above, at most 9.9e-6. */
    static final double AFTER = 5e-5;

    /**
     * The learning rates keep each run's loss finite and falling, so that the updates compared are the steps' and
     * not a divergence's: the seeded backbone's eval-mode features are large (first loss ~190), and at the rate of
     * 0.01 these runs used before, torch took resnet50's fc run from 188 to 5e5 and its layer4 run to NaN in 3
     * steps. resnet50 with everything unfrozen in train mode is compared after 1 step: its training is chaotic at a
     * batch of 2. Between jresnet and torch on the CPU, its first gradients differ by 1.1e-2 (a ReLU input within
     * rounding of 0 takes the other side in one of them; jresnet is within 3.8e-4 of torch in float64), and from
     * there at lr 1e-5 the second and third losses differed by 0.7% and 20%, at lr 1e-3 the 3 steps' updates by 84%.
     */
    @ParameterizedTest(name = "{0}, unfreeze {1}, trainBn {2}, lr {3}, {4} steps")
    @CsvSource({"resnet50,fc,false,1e-6,3", "resnet50,layer4,false,2e-6,3", "resnet50,layer4,true,0.01,3",
            "resnet50,all,true,1e-3,1", "resnet18,layer3,true,0.01,3", "resnext50_32x4d,layer4,false,0.01,3"})
    void stepsMatchTheCpu(String arch, String unfreezeId, boolean trainBn, float lr, int steps) {
        Unfreeze u = Unfreeze.parse(unfreezeId);
        int n = u == Unfreeze.ALL ? 2 : 4, size = 64, classes = 5;
        Network pretrained = TestNets.randomBn(Architecture.of(arch), 21);
        Tensor x = TestNets.randomInput(n, size, 8);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = (i * 3) % classes;
        }
        float smoothing = 0.1f;
        Map<String, float[]> before = UpdateComparison.snapshot(pretrained.withNewHead(classes, 3).tensors());
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

            for (int step = 0; step < steps; step++) {
                float a = cpu.trainStep(x, false, labels, lr).loss();
                float b = gpu.trainStep(x, false, labels, lr).loss();
                System.out.printf("step %d: loss cpu %.7f gpu %.7f%n", step, a, b);
                assertEquals(a, b, Math.abs(a) * 1e-5, "loss at step " + step);
            }
            // What the CPU run changed: its parameters, and with train-mode BatchNorm their running statistics.
            Set<String> trainable = new HashSet<>();
            for (Param<Tensor> p : cpu.parameters()) {
                trainable.add(p.name());
            }
            Map<String, float[]> changed = new LinkedHashMap<>();
            cpu.weights().forEach((name, t) -> {
                String owner = name.replace("running_mean", "weight").replace("running_var", "weight");
                if (trainable.contains(name) || (trainBn && !owner.equals(name) && trainable.contains(owner))) {
                    changed.put(name, t.data());
                }
            });
            UpdateComparison updates = UpdateComparison.of(before, UpdateComparison.values(gpu.weights()), changed);
            System.out.printf("%s %s trainBn=%s: %s%n", arch, u.id(), trainBn, updates.summary());
            List<String> failures = updates.failures(UPDATE, 2, AFTER);
            assertTrue(failures.isEmpty(), String.join("\n", failures));
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
            Map<String, Tensor> wa = a.weights(), wb = b.weights();
            for (String name : wa.keySet()) {
                assertArrayEquals(wa.get(name).data(), wb.get(name).data(), name);
            }
        }
    }
}
