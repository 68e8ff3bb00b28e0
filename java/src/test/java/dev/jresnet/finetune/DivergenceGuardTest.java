package dev.jresnet.finetune;

import dev.jresnet.train.SyntheticShapes;
import dev.jresnet.train.Unfreeze;
import dev.jresnet.graph.Architecture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Divergence: a spike passes, a sustained loss far above ln(classes) or a non-finite one stops the run. */
class DivergenceGuardTest {
    @Test
    void aSpikePassesFiveBatchesInARowStopAndNonFiniteStopsAtOnce() {
        DivergenceGuard g = new DivergenceGuard(6);
        assertEquals(10 * Math.log(6), g.limit(), 1e-9);
        // A learning run's spikes (measured up to 4 x ln 6) and even 4 batches far out pass.
        for (float loss : new float[] {2f, 7.2f, 1.5f, 80f, 211f, 58.9f, 1000f, 1.7f}) {
            assertNull(g.check(loss), "loss " + loss);
        }
        for (int i = 0; i < DivergenceGuard.BATCHES - 1; i++) {
            assertNull(g.check(500f));
        }
        String why = g.check(500f);
        assertTrue(why != null && why.contains("stayed above 17.9") && why.contains("5 batches in a row")
                && why.contains("500"), why);
        assertTrue(new DivergenceGuard(6).check(Float.NaN).contains("NaN"));
        assertTrue(new DivergenceGuard(6).check(Float.POSITIVE_INFINITY).contains("Infinity"));
        // One class: ln 1 would be 0 and every batch out of range; two is the floor.
        DivergenceGuard one = new DivergenceGuard(1);
        assertEquals(10 * Math.log(2), one.limit(), 1e-9);
        for (int i = 0; i < 10; i++) {
            assertNull(one.check(0.5f));
        }
    }

    @Test
    void aHugeLearningRateStopsTheRunWithTheFixAndWritesNoModel(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("shapes");
        SyntheticShapes.generate(data, 8, 32, 3);
        FineTuneOptions o = FineTuneOptions.builder(data, tmp.resolve("m.safetensors"))
                .architecture(Architecture.of("resnet18")).unfreeze(Unfreeze.FC).augment(false).imageSize(32)
                .batchSize(4).epochs(3).lr(10f).schedule(FineTuneOptions.ScheduleKind.CONSTANT).workers(2).build();
        var e = assertThrows(FineTuner.TrainingDivergedException.class, () -> FineTuner.run(o, null));
        assertTrue(e.getMessage().startsWith("training diverged at epoch 1, step ") && e.getMessage().contains(
                "learning rate 10; lower the learning rate (e.g. 1) or clip the gradient norm (e.g. 1). No model "
                        + "was written"), e.getMessage());
        assertEquals(10f, e.lr());
        assertTrue(e.step() >= DivergenceGuard.BATCHES && e.loss() > 10 * Math.log(6), e.step() + " " + e.loss());
        assertFalse(Files.exists(o.output()), "no model from a diverged run");
        assertEquals("0.001", FineTuner.TrainingDivergedException.lower(0.01f));
        assertEquals("0.03", FineTuner.TrainingDivergedException.lower(0.25f));
        assertEquals("0.000967", FineTuner.TrainingDivergedException.format(9.6679025E-4f));
        assertEquals("0.01", FineTuner.TrainingDivergedException.format(0.01f));
    }
}
