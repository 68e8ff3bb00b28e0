package dev.jresnet.testing;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UpdateComparisonTest {
    private static final SplittableRandom R = new SplittableRandom(7);

    /** Values of order 1 (weights) and, for the update, of order 1e-3 (a few thousand ulps of them). */
    private static float[] random(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((R.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    private static float[] plus(float[] a, float[] b, double scaleB) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (float) (a[i] + scaleB * b[i]);
        }
        return out;
    }

    /** A model of three tensors, "w" and "b" trained, "frozen" not. */
    private final Map<String, float[]> before = new LinkedHashMap<>(Map.of(
            "w", random(1000, 1), "b", random(10, 1), "frozen", random(100, 1)));
    private final float[] dw = random(1000, 1e-3), db = random(10, 1e-3);

    private Map<String, float[]> run(double wScale, double bScale) {
        Map<String, float[]> m = new LinkedHashMap<>();
        m.put("w", plus(before.get("w"), dw, wScale));
        m.put("b", plus(before.get("b"), db, bScale));
        m.put("frozen", before.get("frozen").clone());
        return m;
    }

    private Map<String, float[]> reference() {
        Map<String, float[]> m = run(1, 1);
        m.remove("frozen");
        return m;
    }

    @Test
    void theSameRunPassesWithNothingToSpare() {
        UpdateComparison c = UpdateComparison.of(before, run(1, 1), reference());
        assertEquals(List.of(), c.failures(0, 0, 0));
        assertEquals(2, c.rows().size());
        assertTrue(c.summary().contains("1 others unchanged"), c.summary());
    }

    @Test
    void aMissedUpdateFailsWhereTheWholeWeightsWouldNot() {
        UpdateComparison c = UpdateComparison.of(before, run(1, 0), reference());
        UpdateComparison.Row b = c.rows().get(1);
        assertEquals("b", b.name());
        assertEquals(1, b.update().relL2(), 1e-6);
        assertTrue(b.after().relL2() < 2e-3, "the final values are within " + b.after().relL2());
        List<String> f = c.failures(0.1, 2, 1e-2);
        assertEquals(1, f.size(), f.toString());
        assertTrue(f.get(0).startsWith("update of b"), f.toString());
    }

    @Test
    void aWrongSizeOfUpdateFails() {
        assertEquals(1, UpdateComparison.of(before, run(1.2, 1), reference()).failures(0.1, 2, 1).size());
        assertEquals(List.of(), UpdateComparison.of(before, run(1.05, 1), reference()).failures(0.1, 2, 1));
    }

    @Test
    void roundingOfTheFinalValuesIsWithinTheResolution() {
        Map<String, float[]> actual = run(1, 1);
        float[] w = actual.get("w");
        for (int i = 0; i < w.length; i += 2) {
            w[i] = Math.nextUp(w[i]); // one ulp on every other element: sqrt(1/2) resolutions
        }
        UpdateComparison c = UpdateComparison.of(before, actual, reference());
        assertEquals(Math.sqrt(0.5), c.rows().get(0).errorUlps(), 0.05);
        assertEquals(List.of(), c.failures(0, 1, 1));
        assertEquals(1, c.failures(0, 0.5, 1).size());
    }

    @Test
    void anUpdateBelowTheResolutionCannotBeCompared() {
        Map<String, float[]> expected = reference();
        float[] b = before.get("b").clone();
        b[0] = Math.nextUp(b[0]); // the reference moved one element by one ulp
        expected.put("b", b);
        Map<String, float[]> actual = run(1, 1);
        actual.put("b", b.clone());
        List<String> f = UpdateComparison.of(before, actual, expected).failures(0.1, 2, 1);
        assertEquals(1, f.size(), f.toString());
        assertTrue(f.get(0).contains("too small to compare"), f.toString());
    }

    @Test
    void aTensorThatMovedOnlyInThisRunFails() {
        Map<String, float[]> actual = run(1, 1);
        actual.get("frozen")[3] += 1e-3f;
        List<String> f = UpdateComparison.of(before, actual, reference()).failures(0.1, 2, 1);
        assertEquals(List.of("frozen changed, but not in the reference"), f);
    }

    @Test
    void aNanFails() {
        Map<String, float[]> actual = run(1, 1);
        actual.get("w")[0] = Float.NaN;
        List<String> f = UpdateComparison.of(before, actual, reference()).failures(0.1, 2, 1);
        assertEquals(2, f.size(), f.toString());
        assertTrue(f.get(0).startsWith("update of w") && f.get(1).startsWith("w after the run"), f.toString());
    }

    @Test
    void theRunsMustHoldTheSameTensors() {
        Map<String, float[]> actual = run(1, 1);
        actual.remove("frozen");
        assertThrows(IllegalArgumentException.class, () -> UpdateComparison.of(before, actual, reference()));
        Map<String, float[]> expected = reference();
        expected.put("other", new float[1]);
        assertThrows(IllegalArgumentException.class, () -> UpdateComparison.of(before, run(1, 1), expected));
    }
}
