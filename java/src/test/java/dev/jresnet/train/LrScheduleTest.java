package dev.jresnet.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Schedule values by hand and the CLI factory (the torch comparison is in TorchAgreementTest). */
class LrScheduleTest {
    @Test
    void stepDecaysEveryStepSize() {
        LrSchedule s = LrSchedule.step(1f, 3, 0.5f);
        float[] expected = {1, 1, 1, 0.5f, 0.5f, 0.5f, 0.25f};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], s.lr(i), "step " + i);
        }
    }

    @Test
    void cosineEndsAtMinimumAndStaysThere() {
        LrSchedule s = LrSchedule.cosine(1f, 10, 0.1f);
        assertEquals(1f, s.lr(0));
        assertEquals(0.55f, s.lr(5), 1e-6f);
        assertEquals(0.1f, s.lr(10), 1e-7f);
        assertEquals(0.1f, s.lr(11), 1e-7f);
    }

    @Test
    void warmupRisesLinearlyThenHandsOver() {
        LrSchedule s = LrSchedule.withWarmup(1f, 4, 0.2f, LrSchedule.constant(1f));
        assertEquals(0.2f, s.lr(0), 1e-7f);
        assertEquals(0.4f, s.lr(1), 1e-7f);
        assertEquals(0.8f, s.lr(3), 1e-7f);
        assertEquals(1f, s.lr(4));
    }

    @Test
    void parseConvertsEpochsToSteps() {
        LrSchedule.Options o = new LrSchedule.Options(1, 0.1f, 2, 0.1f, 0f);
        LrSchedule cos = LrSchedule.parse("cosine", 1f, 5, 10, o);
        assertEquals(0.1f, cos.lr(0), 1e-7f);
        assertEquals(1f, cos.lr(10));
        assertEquals(0.5f, cos.lr(30), 1e-6f); // halfway through the 40 cosine steps after 10 of warm-up
        LrSchedule step = LrSchedule.parse("STEP", 1f, 5, 10, o);
        assertEquals(1f, step.lr(29));
        assertEquals(0.1f, step.lr(30), 1e-8f); // 10 warm-up steps, then 20 per decay
        assertEquals(1f, LrSchedule.parse("constant", 1f, 5, 10, LrSchedule.Options.DEFAULTS).lr(49));
    }

    @Test
    void rejectsBadArguments() {
        String msg = assertThrows(IllegalArgumentException.class,
                () -> LrSchedule.parse("linear", 1f, 5, 10, LrSchedule.Options.DEFAULTS)).getMessage();
        assertTrue(msg.contains("constant, step or cosine"), msg);
        assertThrows(IllegalArgumentException.class,
                () -> LrSchedule.parse("cosine", 1f, 2, 10, new LrSchedule.Options(2, 0.1f, 1, 0.1f, 0f)));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.Options(0, 0f, 1, 0.1f, 0f));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(0.1f, 10, 0.2f));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.step(0.1f, 0, 0.1f));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.constant(Float.NaN));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.constant(1f).lr(-1));
    }
}
