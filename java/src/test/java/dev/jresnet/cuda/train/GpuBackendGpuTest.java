package dev.jresnet.cuda.train;

import dev.jresnet.testing.TestNets;
import dev.jresnet.testing.UpdateComparison;
import dev.jresnet.cuda.GpuTests;
import dev.jresnet.resnet.Device;
import dev.jresnet.graph.Network;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.AdamW;
import dev.jresnet.train.Optimizer;
import dev.jresnet.train.Sgd;
import dev.jresnet.finetune.Backends;
import dev.jresnet.train.Trainer;
import dev.jresnet.train.Unfreeze;
import dev.jresnet.train.TrainingBackend;
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
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Backends#create} on CUDA against the CPU backend: same steps (from images and from frozen
 * features), same eval logits, the same update of every trainable tensor ({@link UpdateComparison}), optimizer state
 * under the same keys, and a checkpoint taken on the CPU continues on the GPU with the same update.
 */
@Tag("gpu")
class GpuBackendGpuTest {
    private static Network pretrained;

    @BeforeEach
    void open() {
        GpuTests.assumeCudnn();
        GpuTests.assumeCublas();
        GpuTests.assumeNvrtc();
        if (pretrained == null) {
            pretrained = TestNets.randomBnGraph(31);
        }
    }

    private static Optimizer optimizer(String kind) {
        return kind.equals("sgd") ? new Sgd(0.9f, 1e-4f, false) : new AdamW(0.9f, 0.999f, 1e-8f, 1e-2f);
    }

    /**
     * The bounds on each trainable tensor's update (relative L2, beside 2 float32 resolutions, see
     * {@link UpdateComparison}) and final value. Not yet measured on a GPU: measured instead between jresnet's CPU
     * trainer and torch 1.13 on the CPU over these runs' 3 steps: every update within the 2 resolutions (the largest
     * relative difference 3.95e-4, layer4.0.bn2.weight with AdamW, 0.1 resolutions), final values 6.7e-8. AdamW's
     * normalised step turns a small difference in a tiny gradient into a whole step (FineTunePyTorchTest measures
     * 8.9e-4), hence the room.
     */
    static final double UPDATE = 2e-3, AFTER = 5e-7;

    /** What the CPU backend changed, by name (its trainable parameters; batch norm runs in eval mode here). */
    private static Map<String, float[]> changed(TrainingBackend cpu, Trainer<?> gpu) {
        Set<String> trainable = new HashSet<>();
        gpu.parameters().forEach(p -> trainable.add(p.name()));
        Map<String, float[]> out = new LinkedHashMap<>();
        cpu.weights().forEach((name, t) -> {
            if (trainable.contains(name)) {
                out.put(name, t.data());
            }
        });
        return out;
    }

    private static void sameUpdate(String what, Map<String, float[]> before, TrainingBackend cpu, Trainer<?> gpu,
                                   TrainingBackend device) {
        UpdateComparison c = UpdateComparison.of(before, UpdateComparison.values(device.weights()), changed(cpu, gpu));
        System.out.println(what + ": " + c.summary());
        List<String> failures = c.failures(UPDATE, 2, AFTER);
        assertTrue(failures.isEmpty(), what + ":\n" + String.join("\n", failures));
    }

    private static void close(String what, float[] expected, float[] actual, double tol) {
        double rel = TestNets.relL2(expected, actual);
        assertTrue(rel < tol, what + ": relative L2 difference " + rel);
    }

    /**
     * The learning rates keep the loss finite and falling (the seeded backbone's features are large, first loss
     * ~130): at the 0.05 both runs used before, torch took fc's run from 129 to 415 and layer4's AdamW run to 7e14.
     */
    @ParameterizedTest(name = "unfreeze {0}, {1}, lr {2}")
    @CsvSource({"fc,sgd,1e-4", "layer4,adamw,1e-5"})
    void matchesTheCpuBackendAndTakesItsCheckpoints(String unfreezeId, String opt, float lr) {
        Unfreeze u = Unfreeze.parse(unfreezeId);
        int n = 4, size = 64, classes = 5;
        Tensor x = TestNets.randomInput(n, size, 9);
        int[] labels = {0, 3, 1, 4};
        float smoothing = 0.1f, clip = 1f;
        Map<String, float[]> before = UpdateComparison.snapshot(pretrained.withNewHead(classes, 3).tensors());
        try (TrainingBackend cpu = Backends.create(Device.cpu(), pretrained.withNewHead(classes, 3), u, false,
                optimizer(opt), smoothing, clip);
             Trainer<?> gpu = Backends.create(Device.cuda(0), pretrained.withNewHead(classes, 3), u, false,
                     optimizer(opt), smoothing, clip)) {
            assertInstanceOf(GpuTrainDevice.class, gpu.device());
            assertTrue(gpu.description().startsWith("cuda"), gpu.description());
            assertEquals(cpu.optimizer().describe(), gpu.optimizer().describe());
            assertThrows(UnsupportedOperationException.class, () -> gpu.optimizer().step(List.of(), lr));

            Tensor fCpu = cpu.frozenFeatures(x), fGpu = gpu.frozenFeatures(x);
            close("frozen features", fCpu.data(), fGpu.data(), 1e-4);
            for (int step = 0; step < 3; step++) {
                boolean fromFrozen = step > 0;
                TrainingBackend.StepResult a = cpu.trainStep(fromFrozen ? fCpu : x, fromFrozen, labels, lr);
                TrainingBackend.StepResult b = gpu.trainStep(fromFrozen ? fCpu : x, fromFrozen, labels, lr);
                assertEquals(a.loss(), b.loss(), 1e-4 * Math.max(1, Math.abs(a.loss())), "loss, step " + step);
                assertEquals(a.gradNorm(), b.gradNorm(), 1e-3 * Math.max(1, a.gradNorm()), "grad norm, step " + step);
                close("logits, step " + step, a.logits().data(), b.logits().data(), 1e-4);
            }
            Tensor e = cpu.evalLogits(x, false);
            close("eval logits", e.data(), gpu.evalLogits(x, false).data(), 1e-4);
            close("eval logits from frozen", e.data(), gpu.evalLogits(fCpu, true).data(), 1e-4);

            Map<String, Tensor> wc = cpu.weights(), wg = gpu.weights();
            assertEquals(wc.keySet(), wg.keySet());
            sameUpdate("3 steps", before, cpu, gpu, gpu);
            Map<String, Tensor> sc = cpu.optimizer().state(), sg = gpu.optimizer().state();
            assertEquals(sc.keySet(), sg.keySet(), "checkpoint keys");
            for (String k : sc.keySet()) {
                assertEquals(sc.get(k).shape(), sg.get(k).shape(), k);
                close(k, sc.get(k).data(), sg.get(k).data(), 1e-3);
            }

            // The CPU's checkpoint continues on a fresh GPU backend as it does on the CPU.
            try (TrainingBackend resumed = Backends.create(Device.cuda(0), pretrained.withNewHead(classes, 99), u, false,
                    optimizer(opt), smoothing, clip)) {
                resumed.loadWeights(wc);
                resumed.optimizer().loadState(sc);
                assertEquals(sc.keySet(), resumed.optimizer().state().keySet());
                Map<String, float[]> atResume = UpdateComparison.snapshot(wc); // wc is the CPU's live model
                TrainingBackend.StepResult a = cpu.trainStep(x, false, labels, lr);
                TrainingBackend.StepResult b = resumed.trainStep(x, false, labels, lr);
                assertEquals(a.loss(), b.loss(), 1e-4 * Math.max(1, Math.abs(a.loss())), "loss after resume");
                sameUpdate("the step after resuming", atResume, cpu, gpu, resumed);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"sgd", "adamw"})
    void aConvertedOptimizerReportsItsStateBeforeTheFirstStep(String opt) {
        Optimizer o = optimizer(opt);
        Tensor x = TestNets.randomInput(2, 64, 4);
        try (TrainingBackend cpu = Backends.create(Device.cpu(), pretrained.withNewHead(3, 3), Unfreeze.FC, false, o,
                0f, 0f)) {
            cpu.trainStep(x, false, new int[] {0, 2}, 0.1f);
        }
        try (TrainingBackend gpu = Backends.create(Device.cuda(0), pretrained.withNewHead(3, 3), Unfreeze.FC, false,
                o, 0f, 0f)) {
            Map<String, Tensor> expected = o.state(), actual = gpu.optimizer().state();
            assertEquals(expected.keySet(), actual.keySet());
            for (String k : expected.keySet()) {
                assertArrayEquals(expected.get(k).data(), actual.get(k).data(), k);
            }
        }
    }
}
