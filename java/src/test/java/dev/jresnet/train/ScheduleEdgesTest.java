package dev.jresnet.train;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The learning-rate schedules at the edges of their arguments (a rate of 0, one step, a factor of 1), refusing a
 * negative step each, and their names as the training log prints them.
 */
class ScheduleEdgesTest {
    private static final LrSchedule.Options DEFAULTS = LrSchedule.Options.DEFAULTS;

    @Test
    void edgesThatAreAllowed() {
        assertEquals(0f, LrSchedule.constant(0f).lr(0));
        LrSchedule oneStep = LrSchedule.cosine(0.1f, 1, 0.1f);
        assertEquals(0.1f, oneStep.lr(0));
        assertEquals(0.1f, oneStep.lr(5), "min lr equal to lr: flat");
        assertEquals(0f, LrSchedule.cosine(0f, 3, 0f).lr(1));
        LrSchedule keep = LrSchedule.step(0.5f, 1, 1f);
        assertEquals(0.5f, keep.lr(7), "gamma 1 never decays");
        assertEquals(0.25f, LrSchedule.step(0.5f, 1, 0.5f).lr(1), "step size 1 decays every step");
        LrSchedule warm = LrSchedule.withWarmup(0.4f, 1, 1f, LrSchedule.constant(0.4f));
        assertEquals(0.4f, warm.lr(0), "start factor 1: no rise");
        assertEquals(0.4f, warm.lr(1));
        LrSchedule two = LrSchedule.withWarmup(1f, 2, 0.5f, LrSchedule.constant(1f));
        assertEquals(List.of(0.5f, 0.75f, 1f), List.of(two.lr(0), two.lr(1), two.lr(2)));
        // the step where the warm-up ends is the next schedule's step 0, even where the two do not join
        LrSchedule handover = LrSchedule.withWarmup(1f, 2, 0.5f, LrSchedule.step(0.3f, 1, 0.5f));
        assertEquals(List.of(0.75f, 0.3f, 0.15f), List.of(handover.lr(1), handover.lr(2), handover.lr(3)));
        assertSame(keep, LrSchedule.withWarmup(0.5f, 0, 0.5f, keep), "no warm-up: the schedule itself");
    }

    @Test
    void edgesThatAreRefused() {
        for (LrSchedule s : List.of(LrSchedule.constant(1f), LrSchedule.cosine(1f, 4, 0f), LrSchedule.step(1f, 2, 0.5f),
                LrSchedule.withWarmup(1f, 2, 0.5f, LrSchedule.constant(1f)))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.lr(-1), s.toString());
            assertEquals("step must be >= 0, got -1", e.getMessage());
        }
        for (float bad : new float[] {-0.1f, Float.NaN, Float.POSITIVE_INFINITY}) {
            assertEquals("learning rate must be finite and >= 0, got " + bad, assertThrows(IllegalArgumentException.class,
                    () -> LrSchedule.cosine(bad, 4, 0f)).getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(0.1f, 4, -0.01f));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(0.1f, 0, 0f));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(0.1f, 4, Float.NaN));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.step(-0.1f, 1, 0.5f));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.step(0.1f, 1, 0f));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.step(0.1f, 1, 1.01f));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.withWarmup(-1f, 2, 0.5f, LrSchedule.constant(1f)));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.withWarmup(1f, -1, 0.5f, LrSchedule.constant(1f)));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.withWarmup(1f, 2, 0f, LrSchedule.constant(1f)));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.withWarmup(1f, 2, 1.01f, LrSchedule.constant(1f)));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.withWarmup(1f, 2, 0.5f, null));
        // withWarmup hands back the schedule itself for 0 steps; the warm-up schedule never takes 0
        assertEquals("warm-up steps must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> new WarmupSchedule(1f, 0, 0.5f, LrSchedule.constant(1f))).getMessage());
    }

    @Test
    void parseAtItsEdges() {
        LrSchedule one = LrSchedule.parse("constant", 0.1f, 1, 1, DEFAULTS);
        assertEquals(0.1f, one.lr(0));
        // 46341 x 46341 steps pass 2^31 - 1; 2^31 - 1 exactly does not
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.parse("constant", 0.1f, 46341, 46341, DEFAULTS));
        assertEquals(0.1f, LrSchedule.parse("constant", 0.1f, Integer.MAX_VALUE, 1, DEFAULTS).lr(0));
        LrSchedule.Options warm = new LrSchedule.Options(1, 0.5f, 30, 0.1f, 0f);
        assertEquals(0.05f, LrSchedule.parse("COSINE", 0.1f, 2, 3, warm).lr(0));
        assertEquals(0.1f, LrSchedule.parse("cosine", 0.1f, 2, 3, warm).lr(3), "the cosine starts after the warm-up");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LrSchedule.parse("cosine", 0.1f, 1, 3, warm));
        assertEquals("warm-up of 1 epochs leaves none of the 1 epochs to train", e.getMessage());
        assertEquals("epochs and steps per epoch must be >= 1, got 0 and 3", assertThrows(IllegalArgumentException.class,
                () -> LrSchedule.parse("constant", 0.1f, 0, 3, DEFAULTS)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.parse("constant", 0.1f, 3, 0, DEFAULTS));
        // step: every stepEpochs epochs of stepsPerEpoch steps
        LrSchedule step = LrSchedule.parse("step", 1f, 10, 4, new LrSchedule.Options(0, 0.5f, 2, 0.5f, 0f));
        assertEquals(List.of(1f, 1f, 0.5f, 0.25f), List.of(step.lr(0), step.lr(7), step.lr(8), step.lr(16)));
    }

    @Test
    void namesAsTheTrainingLogPrintsThem() {
        assertEquals("constant(lr=0.1)", LrSchedule.constant(0.1f).toString());
        assertEquals("cosine(lr=0.1, total_steps=40, min_lr=0.001)", LrSchedule.cosine(0.1f, 40, 0.001f).toString());
        assertEquals("step(lr=0.1, step_size=30, gamma=0.1)", LrSchedule.step(0.1f, 30, 0.1f).toString());
        assertEquals("warmup(steps=5, start_factor=0.01) then constant(lr=0.1)",
                LrSchedule.withWarmup(0.1f, 5, 0.01f, LrSchedule.constant(0.1f)).toString());
    }
}
