package dev.jresnet.train;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Optimizer behaviour that needs no PyTorch: hand-computed steps, skipping, state save/restore and its checks. */
class OptimizerTest {
    private static Tensor t(float... v) {
        return new Tensor(Shape.of(v.length), v);
    }

    @Test
    void parameterChecksShapes() {
        assertThrows(IllegalArgumentException.class, () -> new Parameter("w", t(1, 2), t(1)));
        assertThrows(IllegalArgumentException.class, () -> new Parameter("", t(1), t(1)));
        assertThrows(IllegalArgumentException.class, () -> new Parameter("w", null, null));
        Tensor shared = t(1, 2);
        assertThrows(IllegalArgumentException.class, () -> new Parameter("w", shared, shared));
        new Parameter("w", t(1, 2), null);
    }

    @Test
    void sgdMomentumByHand() {
        Sgd sgd = new Sgd(0.5f, 0f, false);
        Tensor w = t(1f);
        sgd.step(List.of(new Parameter("w", w, t(2f))), 0.25f);
        assertEquals(0.5f, w.data()[0]); // buf = 2, w = 1 - 0.25*2
        sgd.step(List.of(new Parameter("w", w, t(2f))), 0.25f);
        assertEquals(-0.25f, w.data()[0]); // buf = 0.5*2 + 2 = 3
        assertArrayEquals(new float[] {3f}, sgd.state().get("w.momentum_buffer").data());
    }

    @Test
    void parameterWithoutGradientIsUntouched() {
        for (Optimizer opt : List.of(new Sgd(0.9f, 0.1f, true), new AdamW(0.9f, 0.999f, 1e-8f, 0.1f))) {
            Tensor w = t(1f, 2f);
            Tensor other = t(3f);
            opt.step(List.of(new Parameter("w", w, null), new Parameter("o", other, t(1f))), 0.1f);
            assertArrayEquals(new float[] {1f, 2f}, w.data(), opt.describe());
            assertFalse(opt.state().keySet().stream().anyMatch(k -> k.startsWith("w.")), opt.describe());
            assertTrue(opt.state().containsKey(opt instanceof Sgd ? "o.momentum_buffer" : "o.exp_avg"));
        }
    }

    @Test
    void adamWCountsStepsPerParameter() {
        AdamW adam = new AdamW(0.9f, 0.999f, 1e-8f, 0f);
        Tensor a = t(1f);
        Tensor b = t(1f);
        adam.step(List.of(new Parameter("a", a, t(1f)), new Parameter("b", b, null)), 0.1f);
        adam.step(List.of(new Parameter("a", a, t(1f)), new Parameter("b", b, t(1f))), 0.1f);
        Map<String, Tensor> s = adam.state();
        assertEquals(2f, s.get("a.step").data()[0]);
        assertEquals(1f, s.get("b.step").data()[0]);
        assertEquals(2f, s.get("step").data()[0]);
        // First AdamW step moves by lr (m/sqrt(v) = 1 after bias correction), whatever the gradient's size.
        assertEquals(0.9f, b.data()[0], 1e-6f);
    }

    @Test
    void stateRoundTripContinuesIdentically() {
        for (boolean adam : new boolean[] {false, true}) {
            Optimizer a = adam ? new AdamW(0.9f, 0.99f, 1e-8f, 0.01f) : new Sgd(0.9f, 1e-4f, true);
            Optimizer b = adam ? new AdamW(0.9f, 0.99f, 1e-8f, 0.01f) : new Sgd(0.9f, 1e-4f, true);
            Tensor wa = t(0.5f, -1f, 2f);
            a.step(List.of(new Parameter("w", wa, t(0.1f, 0.2f, -0.3f))), 0.05f);
            Tensor wb = wa.copy();
            b.loadState(a.state());
            a.step(List.of(new Parameter("w", wa, t(0.3f, -0.2f, 0.1f))), 0.05f);
            b.step(List.of(new Parameter("w", wb, t(0.3f, -0.2f, 0.1f))), 0.05f);
            assertArrayEquals(wa.data(), wb.data());
            assertEquals(a.state().keySet(), b.state().keySet());
        }
    }

    @Test
    void stateIsACopy() {
        Sgd sgd = new Sgd(0.9f, 0f, false);
        Tensor w = t(1f);
        sgd.step(List.of(new Parameter("w", w, t(1f))), 0.1f);
        sgd.state().get("w.momentum_buffer").data()[0] = 100f;
        assertEquals(1f, sgd.state().get("w.momentum_buffer").data()[0]);
    }

    @Test
    void loadStateRejectsBadState() {
        Sgd sgd = new Sgd(0.9f, 0f, false);
        Map<String, Tensor> noStep = Map.of("w.momentum_buffer", t(1f));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> sgd.loadState(noStep)).getMessage().contains("\"step\""));
        Map<String, Tensor> unknown = new LinkedHashMap<>();
        unknown.put("step", OptimizerState.scalar(1));
        unknown.put("w.exp_avg", t(1f));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> sgd.loadState(unknown)).getMessage().contains("w.exp_avg"));
        Map<String, Tensor> fractional = Map.of("step", OptimizerState.scalar(1.5));
        assertThrows(IllegalArgumentException.class, () -> sgd.loadState(fractional));

        AdamW adam = new AdamW(0.9f, 0.999f, 1e-8f, 0f);
        Map<String, Tensor> partial = new LinkedHashMap<>();
        partial.put("step", OptimizerState.scalar(1));
        partial.put("w.exp_avg", t(1f));
        partial.put("w.step", OptimizerState.scalar(1));
        String msg = assertThrows(IllegalArgumentException.class, () -> adam.loadState(partial)).getMessage();
        assertTrue(msg.contains("w.exp_avg_sq"), msg);
    }

    @Test
    void stateOfAnotherShapeIsNamed() {
        Sgd sgd = new Sgd(0.9f, 0f, false);
        Map<String, Tensor> s = new LinkedHashMap<>();
        s.put("step", OptimizerState.scalar(1));
        s.put("w.momentum_buffer", t(1f, 2f));
        sgd.loadState(s);
        String msg = assertThrows(IllegalArgumentException.class,
                () -> sgd.step(List.of(new Parameter("w", t(1f), t(1f))), 0.1f)).getMessage();
        assertTrue(msg.contains("w.momentum_buffer"), msg);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new Sgd(1f, 0f, false));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(0f, 0f, true));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(0.9f, -1f, false));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(0.9f, 1f, 1e-8f, 0f));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(0.9f, 0.999f, 0f, 0f));
        Sgd sgd = new Sgd(0f, 0f, false);
        assertThrows(IllegalArgumentException.class, () -> sgd.step(List.of(), Float.NaN));
        List<Parameter> twice = List.of(new Parameter("w", t(1f), t(1f)), new Parameter("w", t(1f), t(1f)));
        assertThrows(IllegalArgumentException.class, () -> sgd.step(twice, 0.1f));
    }
}
