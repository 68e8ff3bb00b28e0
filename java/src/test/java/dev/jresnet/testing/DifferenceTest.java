package dev.jresnet.testing;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DifferenceTest {
    @Test
    void normsAndLargestMagnitudes() {
        // error (0.5, 0, -2), reference (3, -4, 0)
        Difference d = Difference.of(new float[] {3.5f, -4f, -2f}, new float[] {3f, -4f, 0f});
        assertEquals(3, d.size());
        assertEquals(5, d.referenceNorm(), 1e-12);
        assertEquals(4, d.referenceMax(), 1e-12);
        assertEquals(Math.sqrt(4.25), d.errorNorm(), 1e-12);
        assertEquals(2, d.errorMax(), 1e-12);
        assertEquals(Math.sqrt(4.25) / 5, d.relL2(), 1e-12);
    }

    @Test
    void aZeroReferenceIsExactOrInfinitelyFar() {
        assertEquals(0, Difference.of(new float[2], new float[2]).relL2());
        assertEquals(Double.POSITIVE_INFINITY, Difference.of(new float[] {0, 1e-30f}, new float[2]).relL2());
    }

    @Test
    void aNanOnEitherSideFailsEveryBound() {
        Difference a = Difference.of(new float[] {1, Float.NaN, 1}, new float[] {1, 1, 1});
        Difference b = Difference.of(new float[] {1, 1, 1}, new float[] {Float.NaN, 1, 1});
        for (Difference d : new Difference[] {a, b}) {
            assertTrue(Double.isNaN(d.relL2()), d.toString());
            assertTrue(!(d.errorMax() <= 1), d.toString());
        }
    }

    @Test
    void anUpdateIsComparedFromTheCommonStart() {
        float one = 1f, next = Math.nextUp(1f);
        // updates (0.5, 0, ulp) against (1, 0, 2 ulp): errors (-0.5, 0, -ulp), in double (no rounding of 2 + 2^-23)
        Difference d = Difference.ofUpdate(new float[] {1, 2, one}, new float[] {1.5f, 2, next},
                new float[] {2, 2, Math.nextUp(next)});
        double ulp = Math.ulp(1f);
        assertEquals(Math.sqrt(1 + 4 * ulp * ulp), d.referenceNorm(), 1e-15);
        assertEquals(Math.sqrt(0.25 + ulp * ulp), d.errorNorm(), 1e-15);
        assertEquals(0.5, d.errorMax(), 0);
        assertThrows(IllegalArgumentException.class,
                () -> Difference.ofUpdate(new float[2], new float[2], new float[3]));
    }

    @Test
    void lengthsMustAgree() {
        assertThrows(IllegalArgumentException.class, () -> Difference.of(new float[2], new float[3]));
    }
}
