package dev.jresnet.train;

import dev.jresnet.testing.HostileFiles;

import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.SafetensorsReader;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightFormatException;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {
    @TempDir
    Path tmp;

    private static Tensor random(Random r, int... dims) {
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) r.nextGaussian();
        }
        return t;
    }

    private static Map<String, Tensor> model(long seed) {
        Random r = new Random(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("conv1.weight", random(r, 4, 3, 3, 3));
        m.put("bn1.running_var", random(r, 4));
        m.put("fc.weight", random(r, 5, 4));
        m.put("fc.bias", random(r, 5));
        return m;
    }

    /** An optimizer that has taken two steps on fc.weight and fc.bias (the others frozen). */
    private static AdamW trainedOptimizer(Map<String, Tensor> model) {
        AdamW adam = new AdamW(0.9f, 0.999f, 1e-8f, 0.01f);
        Random r = new Random(7);
        for (int s = 0; s < 2; s++) {
            adam.step(List.of(
                    new Parameter("fc.weight", model.get("fc.weight"), random(r, 5, 4)),
                    new Parameter("fc.bias", model.get("fc.bias").copy(), random(r, 5))), 1e-3f);
        }
        return adam;
    }

    @Test
    void roundTripIsBitwise() throws IOException {
        Map<String, Tensor> model = model(1);
        AdamW adam = trainedOptimizer(model);
        Path file = tmp.resolve("ckpt.safetensors");
        TrainingState state = new TrainingState(3, 1234567890L, -42L, 0.75f);
        Checkpoint.write(file, model, adam, state, Map.of("run", "test", "jresnet.variant", "v1.5"));

        Checkpoint c = Checkpoint.read(file);
        assertEquals(state, c.state());
        assertEquals(model.keySet(), c.weights().keySet());
        for (String k : model.keySet()) {
            assertEquals(model.get(k).shape(), c.weights().get(k).shape(), k);
            assertBitwise(model.get(k).data(), c.weights().get(k).data(), k);
        }
        Map<String, Tensor> expected = adam.state();
        assertEquals(expected.keySet(), c.optimizerState().keySet());
        for (String k : expected.keySet()) {
            assertBitwise(expected.get(k).data(), c.optimizerState().get(k).data(), k);
        }
        assertEquals("test", c.metadata().get("run"));
        assertEquals("v1.5", c.metadata().get("jresnet.variant"));
        assertEquals(adam.describe(), c.optimizer());

        AdamW restored = new AdamW(0.9f, 0.999f, 1e-8f, 0.01f);
        restored.loadState(c.optimizerState());
        assertEquals(expected.keySet(), restored.state().keySet());
    }

    @Test
    void nanBestAccuracyRoundTrips() throws IOException {
        Path file = tmp.resolve("ckpt.safetensors");
        Checkpoint.write(file, model(1), new Sgd(0.9f, 0f, false), new TrainingState(0, 0, 0, Float.NaN), Map.of());
        assertTrue(Float.isNaN(Checkpoint.read(file).state().bestValTop1()));
    }

    @Test
    void failedWriteLeavesThePreviousCheckpoint() throws IOException {
        Path file = tmp.resolve("ckpt.safetensors");
        Checkpoint.write(file, model(1), new Sgd(0.9f, 0f, false), new TrainingState(1, 10, 5, 0.5f), Map.of());
        byte[] before = Files.readAllBytes(file);

        // A bad entry (a model tensor under the optimizer's prefix) and a bad metadata value: both rejected, the
        // old file untouched.
        Map<String, Tensor> bad = model(2);
        bad.put("optimizer.step", Tensor.zeros(1));
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.write(file, bad, new Sgd(0.9f, 0f, false),
                new TrainingState(2, 20, 5, 0.5f), Map.of()));
        Map<String, String> nullValue = new LinkedHashMap<>();
        nullValue.put("note", null);
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.write(file, model(2), new Sgd(0.9f, 0f, false),
                new TrainingState(2, 20, 5, 0.5f), nullValue));
        assertArrayEquals(before, Files.readAllBytes(file));
        assertNoTempFiles();
    }

    @Test
    void failureAfterTheTempFileIsWrittenRemovesIt() throws IOException {
        // The rename onto a non-empty directory fails only after the whole temporary file has been written.
        Path dest = tmp.resolve("ckpt.safetensors");
        Files.createDirectories(dest.resolve("inside"));
        Path previous = tmp.resolve("previous.safetensors");
        Checkpoint.write(previous, model(1), new Sgd(0.9f, 0f, false), new TrainingState(1, 10, 5, 0.5f), Map.of());
        byte[] before = Files.readAllBytes(previous);
        assertThrows(IOException.class, () -> Checkpoint.write(dest, model(2), new Sgd(0.9f, 0f, false),
                new TrainingState(2, 20, 5, 0.5f), Map.of()));
        assertTrue(Files.isDirectory(dest.resolve("inside")));
        assertArrayEquals(before, Files.readAllBytes(previous));
        assertNoTempFiles();
    }

    @Test
    void missingPiecesAreNamed() throws IOException {
        Path file = tmp.resolve("ckpt.safetensors");
        Checkpoint.write(file, model(1), trainedOptimizer(model(1)), new TrainingState(1, 10, 5, 0.5f), Map.of());
        WeightSet full = SafetensorsReader.read(file);

        Map<String, String> noEpoch = new LinkedHashMap<>(full.metadata());
        noEpoch.remove(Checkpoint.META_EPOCH);
        assertMessage(rewrite(full, full.entries(), noEpoch), Checkpoint.META_EPOCH);

        Map<String, String> badStep = new LinkedHashMap<>(full.metadata());
        badStep.put(Checkpoint.META_STEP, "ten");
        assertMessage(rewrite(full, full.entries(), badStep), "ten");

        Map<String, WeightSet.Entry> noWeight = new LinkedHashMap<>(full.entries());
        noWeight.remove("fc.weight");
        assertMessage(rewrite(full, noWeight, full.metadata()), "optimizer.fc.weight.");

        Map<String, WeightSet.Entry> noStep = new LinkedHashMap<>(full.entries());
        noStep.remove("optimizer.step");
        assertMessage(rewrite(full, noStep, full.metadata()), "optimizer.step");

        // A plain weight file is not a checkpoint.
        Map<String, String> plain = new LinkedHashMap<>(full.metadata());
        plain.remove(Checkpoint.META_FORMAT);
        assertMessage(rewrite(full, full.entries(), plain), Checkpoint.META_FORMAT);
    }

    @Test
    void rejectsReservedNames() {
        Path file = tmp.resolve("ckpt.safetensors");
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.write(file, model(1), new Sgd(0f, 0f, false),
                new TrainingState(0, 0, 0, Float.NaN), Map.of(Checkpoint.META_EPOCH, "9")));
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.write(file, Map.of(), new Sgd(0f, 0f, false),
                new TrainingState(0, 0, 0, Float.NaN), Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new TrainingState(-1, 0, 0, 0f));
        assertThrows(IllegalArgumentException.class, () -> new TrainingState(0, 0, 0, 75f));
    }

    @Test
    void nonFiniteParametersAndOptimizerStateAreRefusedOnLoadNamingTheTensor() throws IOException {
        // a checkpoint of a diverged run used to load, and training then "diverged" again at once
        Map<String, Tensor> model = model(1);
        model.get("fc.bias").data()[3] = Float.intBitsToFloat(0x7fc01234); // a NaN with an unusual payload
        Path nanWeight = tmp.resolve("nan.safetensors");
        Checkpoint.write(nanWeight, model, new Sgd(0.9f, 0f, false), new TrainingState(1, 10, 5, 0.5f), Map.of());
        refused(nanWeight, "tensor \"fc.bias\" [5] holds NaN at flat index 3");

        Path file = tmp.resolve("ckpt.safetensors");
        Checkpoint.write(file, model(1), trainedOptimizer(model(1)), new TrainingState(1, 10, 5, 0.5f), Map.of());
        WeightSet full = SafetensorsReader.read(file);
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>(full.entries());
        Tensor avg = entries.get("optimizer.fc.weight.exp_avg_sq").floats().copy();
        avg.data()[7] = Float.POSITIVE_INFINITY;
        entries.put("optimizer.fc.weight.exp_avg_sq", new WeightSet.Entry("optimizer.fc.weight.exp_avg_sq",
                DataType.F32, avg, null, avg.shape().dims()));
        refused(rewrite(full, entries, full.metadata()), "tensor \"optimizer.fc.weight.exp_avg_sq\" [5, 4] holds "
                + "Infinity at flat index 7");
    }

    @Test
    void stepBeyondWhatASchedulesCountsIsRefused() throws IOException {
        // "integer overflow" came from the fine-tuner's Math.toIntExact, far from the file
        Path file = tmp.resolve("ckpt.safetensors");
        Checkpoint.write(file, model(1), new Sgd(0.9f, 0f, false), new TrainingState(1, 10, 5, 0.5f), Map.of());
        WeightSet full = SafetensorsReader.read(file);
        for (String step : new String[] {"99999999999999999999999", "2147483648", "-3"}) {
            Map<String, String> meta = new LinkedHashMap<>(full.metadata());
            meta.put(Checkpoint.META_STEP, step);
            refused(rewrite(full, full.entries(), meta), "checkpoint metadata jresnet.step = \"" + step
                    + "\" is not a whole number in [0, 2147483647]");
        }
        Map<String, String> meta = new LinkedHashMap<>(full.metadata());
        meta.put(Checkpoint.META_EPOCH, "1e9");
        refused(rewrite(full, full.entries(), meta), "jresnet.epoch = \"1e9\"");
    }

    @Test
    void missingFolderDeviceAndPipeAreRefused() throws Exception {
        HostileFiles.nonFilesAreRefused(tmp, "safetensors", f -> () -> Checkpoint.read(f));
    }

    /** Checkpoint.read refuses {@code file} within seconds, in one line naming it and holding every fragment. */
    private static void refused(Path file, String... fragments) {
        HostileFiles.refused(file, () -> Checkpoint.read(file), fragments);
    }

    private Path rewrite(WeightSet set, Map<String, WeightSet.Entry> entries, Map<String, String> meta) throws IOException {
        Path f = Files.createTempFile(tmp, "edited", ".safetensors");
        SafetensorsWriter.write(f, new WeightSet(null, entries, Map.of()), DataType.F32, meta);
        return f;
    }

    private static void assertMessage(Path file, String key) {
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> Checkpoint.read(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(key), e.getMessage());
    }

    private static void assertBitwise(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]), what + "[" + i + "]");
        }
    }

    private void assertNoTempFiles() throws IOException {
        try (Stream<Path> files = Files.list(tmp)) {
            List<Path> temps = files.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
            assertTrue(temps.isEmpty(), "temporary files left: " + temps);
        }
    }
}
