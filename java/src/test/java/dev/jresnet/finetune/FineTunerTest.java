package dev.jresnet.finetune;

import dev.jresnet.train.AdamW;
import dev.jresnet.train.Checkpoint;
import dev.jresnet.train.EpochMetrics;
import dev.jresnet.train.LrSchedule;
import dev.jresnet.train.SplitMix64;
import dev.jresnet.train.SyntheticShapes;
import dev.jresnet.train.Transforms;
import dev.jresnet.train.Unfreeze;

import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.DeviceUnavailableException;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.SafetensorsReader;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * FineTuner on a tiny SyntheticShapes set (6 classes x 3 images at 32 px): exact resume, frozen stages untouched
 * bit for bit, the feature cache against the uncached loop, outputs and their metadata, option checks.
 */
class FineTunerTest {
    static final int SIZE = 32;

    @TempDir
    static Path tmp;
    static Path data;
    static Path weights;
    static Map<String, float[]> source;

    @BeforeAll
    static void dataset() throws IOException {
        data = tmp.resolve("shapes");
        SyntheticShapes.generate(data, 3, 40, 9);
        // The starting weights: a seeded network in a file, as a user's --weights would be.
        weights = tmp.resolve("start.safetensors");
        try (ResNet m = ResNet.untrained(3, Device.cpu())) {
            WeightSet set = m.exportWeights("test start");
            SafetensorsWriter.write(weights, set, DataType.F32, set.metadata());
        }
        source = tensors(weights);
    }

    static Map<String, float[]> tensors(Path file) throws IOException {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (WeightSet.Entry e : SafetensorsReader.read(file).entries().values()) {
            m.put(e.name(), e.floats().data().clone());
        }
        return m;
    }

    static FineTuneOptions.Builder options(String name) {
        return FineTuneOptions.builder(data, tmp.resolve(name).resolve("model.safetensors"))
                .weights(weights).imageSize(SIZE).batchSize(5).valFraction(0.34).seed(4).workers(2);
    }

    /** Crashes the run right after the checkpoint of epoch {@code n}, as a killed process would stop. */
    static final class CrashAfter implements TrainingListener {
        final int n;

        CrashAfter(int n) {
            this.n = n;
        }

        @Override
        public void checkpointWritten(Path checkpoint, int epoch) {
            if (epoch == n) {
                throw new IllegalStateException("simulated crash after epoch " + epoch);
            }
        }
    }

    @Test
    void resumeAfterACrashGivesBitwiseTheUninterruptedRunAndFrozenStagesStayUntouched() throws IOException {
        // Everything that has state: augmentation, train-mode BatchNorm, AdamW moments, warm-up + cosine, clipping.
        FineTuneOptions straight = options("straight").unfreeze(Unfreeze.LAYER4).trainBn(true)
                .optimizer(FineTuneOptions.OptimizerKind.ADAMW).lr(1e-3f).warmupEpochs(1).labelSmoothing(0.1f)
                .clipGradNorm(2f).epochs(2).build();
        FineTuneResult a = FineTuner.run(straight, null);
        assertEquals(2, a.history().size());
        assertNull(a.cache(), "augmentation: no feature cache");

        // Another folder and another number of decoding threads: neither may change the result.
        FineTuneOptions interrupted = FineTuneOptions.builder(data, tmp.resolve("resumed/model.safetensors"))
                .weights(weights).imageSize(SIZE).batchSize(5).valFraction(0.34).seed(4).workers(1)
                .unfreeze(Unfreeze.LAYER4).trainBn(true).optimizer(FineTuneOptions.OptimizerKind.ADAMW)
                .lr(1e-3f).warmupEpochs(1).labelSmoothing(0.1f).clipGradNorm(2f).epochs(2).build();
        var crash = assertThrows(IllegalStateException.class, () -> FineTuner.run(interrupted, new CrashAfter(1)));
        assertTrue(crash.getMessage().contains("simulated crash"), crash.getMessage());
        Path ckpt = interrupted.checkpointPath();
        assertTrue(Files.exists(ckpt));
        assertFalse(Files.exists(interrupted.output()), "no model is written before the run ends");
        assertEquals(1, Checkpoint.read(ckpt).state().epoch());

        List<String> messages = new ArrayList<>();
        int[] stepsPerEpoch = {0};
        FineTuneResult b = FineTuner.run(interrupted.toBuilder().resume(ckpt).build(), new TrainingListener() {
            @Override
            public void started(Plan plan) {
                stepsPerEpoch[0] = plan.stepsPerEpoch();
            }

            @Override
            public void message(String text) {
                messages.add(text);
            }
        });
        assertTrue(messages.stream().anyMatch(m -> m.contains("resumed from") && m.contains("after epoch 1")),
                messages.toString());

        assertEquals(a.keptEpoch(), b.keptEpoch(), "the kept epoch survives the resume");
        assertKeptByTheRule(a);
        Map<String, float[]> wa = tensors(a.model());
        Map<String, float[]> wb = tensors(b.model());
        assertEquals(wa.keySet(), wb.keySet());
        for (String name : wa.keySet()) {
            assertArrayEquals(wa.get(name), wb.get(name), name + " differs between the straight and the resumed run");
        }
        for (int i = 0; i < 2; i++) {
            EpochMetrics x = a.history().get(i);
            EpochMetrics y = b.history().get(i);
            assertEquals(x.trainLoss(), y.trainLoss(), 0.0, "train loss of epoch " + (i + 1));
            assertEquals(x.valLoss(), y.valLoss(), 0.0, "val loss of epoch " + (i + 1));
            assertEquals(x.trainTop1(), y.trainTop1(), 0.0);
            assertEquals(x.valTop1(), y.valTop1(), 0.0);
            // Each epoch records the mean learning rate of its steps (warm-up, then cosine), kept across the resume.
            LrSchedule schedule = LrSchedule.parse("cosine", 1e-3f, 2, stepsPerEpoch[0], new LrSchedule.Options(1,
                    LrSchedule.Options.DEFAULTS.warmupStartFactor(), 30, LrSchedule.Options.DEFAULTS.gamma(), 0f));
            double mean = 0;
            for (int s = i * stepsPerEpoch[0]; s < (i + 1) * stepsPerEpoch[0]; s++) {
                mean += schedule.lr(s) / (double) stepsPerEpoch[0];
            }
            assertEquals(mean, x.lr(), 1e-12, "lr of epoch " + (i + 1));
            assertEquals(x.lr(), y.lr(), 0.0, "lr of epoch " + (i + 1) + " after the resume");
        }
        Checkpoint ca = Checkpoint.read(a.checkpoint());
        Checkpoint cb = Checkpoint.read(b.checkpoint());
        assertEquals(ca.state(), cb.state());
        assertEquals(ca.optimizerState().keySet(), cb.optimizerState().keySet());
        for (String k : ca.optimizerState().keySet()) {
            assertArrayEquals(ca.optimizerState().get(k).data(), cb.optimizerState().get(k).data(), "optimizer " + k);
        }

        // Frozen: the stem and layer1..layer3, running statistics included, are the starting weights bit for bit.
        int frozen = 0;
        int trained = 0;
        for (String name : wa.keySet()) {
            if (name.startsWith("layer4.") || name.startsWith("fc.")) {
                if (!name.startsWith("fc.")) {
                    assertFalse(java.util.Arrays.equals(source.get(name), wa.get(name)), name + " should have trained");
                }
                trained++;
            } else {
                assertArrayEquals(source.get(name), wa.get(name), name + " is frozen and must be bit-identical");
                frozen++;
            }
        }
        assertEquals(source.size(), frozen + trained, "every tensor of the model is in the output");
        assertTrue(frozen > 200 && trained > 40, frozen + " frozen, " + trained + " trained");
    }

    @Test
    void featureCacheTrainsTheHeadLikeTheUncachedLoopAndReportsItsSpeedup() throws IOException {
        // lr 0.001: at 0.01 the loss runs at 100 on these untrained features, which the divergence guard stops.
        FineTuneOptions cached = options("cached").unfreeze(Unfreeze.FC).augment(false)
                .optimizer(FineTuneOptions.OptimizerKind.SGD).lr(0.001f).epochs(2).build();
        FineTuneResult c = FineTuner.run(cached, null);
        FineTuneResult u = FineTuner.run(options("uncached").unfreeze(Unfreeze.FC).augment(false)
                .featureCache(false).optimizer(FineTuneOptions.OptimizerKind.SGD).lr(0.001f).epochs(2).build(), null);
        assertNotNull(c.cache(), "no augmentation, fc only: the cache is used");
        assertNull(u.cache());
        assertEquals(18, c.cache().images());
        assertEquals(18L * 2048 * 4, c.cache().bytes());
        assertTrue(c.cache().speedup() > 1, "speed-up " + c.cache().speedup());
        // The same batches in the same order; the frozen features differ only by float rounding (other batches).
        for (int i = 0; i < 2; i++) {
            EpochMetrics x = c.history().get(i);
            EpochMetrics y = u.history().get(i);
            assertEquals(y.trainLoss(), x.trainLoss(), 1e-5 * Math.abs(y.trainLoss()), "train loss epoch " + (i + 1));
            assertEquals(y.valLoss(), x.valLoss(), 1e-5 * Math.abs(y.valLoss()), "val loss epoch " + (i + 1));
        }
        // A cached run resumes exactly too: the cache is rebuilt in the same batches.
        FineTuneOptions crashing = options("cached-resumed").unfreeze(Unfreeze.FC).augment(false)
                .optimizer(FineTuneOptions.OptimizerKind.SGD).lr(0.001f).epochs(2).build();
        assertThrows(IllegalStateException.class, () -> FineTuner.run(crashing, new CrashAfter(1)));
        FineTuneResult resumed = FineTuner.run(crashing.toBuilder().resume(crashing.checkpointPath()).build(), null);
        assertNotNull(resumed.cache());
        assertEquals(1, resumed.cache().cachedEpochs());
        Map<String, float[]> wr = tensors(resumed.model());
        Map<String, float[]> wc = tensors(c.model());
        for (String name : wc.keySet()) {
            assertArrayEquals(wc.get(name), wr.get(name), name + ": cached run resumed vs straight");
        }
        assertEquals(c.last().trainLoss(), resumed.last().trainLoss(), 0.0);

        Map<String, float[]> wu = tensors(u.model());
        for (String name : wc.keySet()) {
            if (name.startsWith("fc.")) {
                float[] p = wc.get(name);
                float[] q = wu.get(name);
                for (int i = 0; i < p.length; i++) {
                    assertEquals(q[i], p[i], 1e-5f + 1e-4f * Math.abs(q[i]), name + "[" + i + "]");
                }
            } else {
                assertArrayEquals(source.get(name), wc.get(name), name + " is frozen (fc only)");
            }
        }
    }

    @Test
    void theModelFileIsSelfContainedWithClassNamesAndATrainingSummary() throws IOException {
        FineTuneResult r = FineTuner.run(options("meta").augment(false).epochs(1).build(), null);
        WeightSet set = SafetensorsReader.read(r.model());
        Map<String, String> meta = set.metadata();
        assertEquals(String.join("\n", SyntheticShapes.CLASSES), meta.get(ResNet.META_CLASSES));
        assertEquals("32", meta.get(FineTuner.META_IMAGE_SIZE));
        assertEquals("torchvision-v1", meta.get(ResNet.META_PRESET));
        assertEquals("v1.5", meta.get(ResNet.META_VARIANT));
        assertTrue(meta.get(ResNet.META_SOURCE).contains(weights.toString()), meta.get(ResNet.META_SOURCE));
        String training = meta.get(FineTuner.META_TRAINING);
        assertTrue(training.startsWith("{") && training.contains("\"unfreeze\": \"fc\"")
                && training.contains("\"val_top1\": "), training);
        assertEquals(source.keySet(), set.entries().keySet(), "every tensor, no optimizer state");
        // The split, for evaluate: this folder, fraction and seed.
        DataSplit split = DataSplit.fromMetadata(meta);
        assertEquals(new DataSplit(data.toRealPath(), false, 0.34, 4, 12, 6), split);
        assertEquals("1", meta.get(FineTuner.META_KEPT_EPOCH));
        assertTrue(training.contains("\"kept\": {\"epoch\": 1, \"by\": \"best validation top-1"), training);
        assertEquals(1, r.keptEpoch());
        try (ResNet model = ResNet.load(r.model(), Device.cpu())) {
            assertEquals(SyntheticShapes.CLASSES, model.labels());
            assertTrue(model.isPretrained());
            // The file reproduces the training's validation: evaluate with the split's val part.
            Evaluator.Selection val = Evaluator.select(data, 0.34, 4);
            // Batches of 5, as the feature cache was built: the same arithmetic, so the same numbers.
            Evaluator.Result e = Evaluator.evaluate(model, val, model.inputSize(), 5, 2, null);
            assertEquals(6, e.images());
            assertEquals(r.last().valTop1(), e.top1(), 0.0);
            assertEquals(r.last().valLoss(), e.loss(), 1e-6 * e.loss());
        }
    }

    /**
     * The model holds the epoch of the best validation top-1 (ties: lower loss, then earlier): its tensors are the
     * checkpoint's own when that epoch is the last, else the checkpoint's copies under "best.".
     */
    static void assertKeptByTheRule(FineTuneResult r) throws IOException {
        EpochMetrics want = r.history().get(0);
        for (EpochMetrics m : r.history()) {
            if (m.valTop1() > want.valTop1() || (m.valTop1() == want.valTop1() && m.valLoss() < want.valLoss())) {
                want = m;
            }
        }
        assertEquals(want.epoch(), r.keptEpoch());
        Map<String, float[]> model = tensors(r.model());
        Map<String, float[]> ckpt = tensors(r.checkpoint());
        boolean last = r.keptEpoch() == r.history().size();
        for (String name : model.keySet()) {
            float[] expected = !last && ckpt.containsKey(BestEpoch.PREFIX + name) ? ckpt.get(BestEpoch.PREFIX + name)
                    : ckpt.get(name);
            assertArrayEquals(expected, model.get(name), name + " of the kept epoch " + r.keptEpoch());
        }
    }

    @Test
    void theModelKeepsTheBestEpochNotTheLast() throws IOException {
        // AdamW at a constant lr 0.003 on fc: validation accuracy moves around from epoch to epoch.
        FineTuneResult r = FineTuner.run(options("best").unfreeze(Unfreeze.FC).augment(false)
                .optimizer(FineTuneOptions.OptimizerKind.ADAMW).lr(0.003f)
                .schedule(FineTuneOptions.ScheduleKind.CONSTANT).epochs(6).build(), null);
        assertKeptByTheRule(r);
        assertTrue(r.keptEpoch() < r.history().size(), "measured: epoch 4 of 6 (top-1 ties, the lowest validation "
                + "loss), so the kept weights are the copy, not the last epoch's: " + r.keptEpoch());
        assertEquals(Integer.toString(r.keptEpoch()), SafetensorsReader.metadata(r.model())
                .get(FineTuner.META_KEPT_EPOCH));
        for (EpochMetrics m : r.history()) {
            assertEquals(0.003, m.lr(), 1e-7, "the epoch's learning rate");
            assertTrue(Double.isFinite(m.valTop5()), "6 classes: top-5 is measured");
        }
    }

    @Test
    void resumeRefusesOtherSettingsAndNamesThem() throws IOException {
        FineTuneOptions o = options("refuse").augment(false).epochs(1).build();
        FineTuner.run(o, null);
        FineTuneOptions other = o.toBuilder().lr(0.5f).labelSmoothing(0.2f).epochs(2).resume(o.checkpointPath())
                .checkpoint(tmp.resolve("refuse/other.ckpt.safetensors")).build();
        var e = assertThrows(IllegalArgumentException.class, () -> FineTuner.run(other, null));
        assertTrue(e.getMessage().contains("lr 0.01 in the checkpoint, 0.5 now")
                && e.getMessage().contains("label_smoothing"), e.getMessage());
    }

    @Test
    void cudaFailsAtOnceAndBadOptionsSayWhatIsWrong() {
        if (!dev.jresnet.cuda.CudaAvailability.backendStatus().usable()) {
            var cuda = assertThrows(DeviceUnavailableException.class, () -> FineTuner.run(
                    options("cuda").device(Device.cuda(0)).build(), null));
            assertTrue(cuda.getMessage().contains("CUDA is unusable") && cuda.getMessage().contains("on the CPU")
                    && !cuda.getMessage().contains("\n"), cuda.getMessage());
        }
        record Bad(FineTuneOptions.Builder b, String message) {}
        for (Bad bad : List.of(
                new Bad(options("x").epochs(0), "epochs must be >= 1"),
                new Bad(options("x").lr(-1f), "learning rate"),
                new Bad(options("x").momentum(1f), "momentum"),
                new Bad(options("x").warmupEpochs(10), "warm-up epochs"),
                new Bad(options("x").labelSmoothing(1f), "label smoothing"),
                new Bad(options("x").valFraction(1.0), "validation fraction"),
                new Bad(options("x").imageSize(16), "image size"),
                new Bad(options("x").clipGradNorm(Float.NaN), "clipping"),
                new Bad(options("x").checkpoint(tmp.resolve("x/model.safetensors")), "checkpoint must not be the output"),
                new Bad(options("x").checkpointEvery(0), "checkpoint interval"))) {
            var e = assertThrows(IllegalArgumentException.class, bad.b::build);
            assertTrue(e.getMessage().contains(bad.message), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> FineTuneOptions.OptimizerKind.parse("adam"));
        assertThrows(IllegalArgumentException.class, () -> FineTuneOptions.ScheduleKind.parse("linear"));
        assertEquals(Path.of("a/m.ckpt.safetensors"), FineTuneOptions.defaultCheckpoint(Path.of("a/m.safetensors")));
        assertEquals(Path.of("a/m.curves.png"), FineTuneOptions.sibling(Path.of("a/m.safetensors"), ".curves.png"));
    }

}
