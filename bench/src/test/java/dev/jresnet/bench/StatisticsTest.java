package dev.jresnet.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Statistics on samples whose answers are known (NumPy's percentile with its default method gives the same). */
class StatisticsTest {
    private static final double EPS = 1e-12;

    @Test
    void percentilesInterpolateLinearlyBetweenClosestRanks() {
        // numpy.percentile([15, 20, 35, 40, 50], [0, 25, 40, 50, 90, 99, 100]) = 15, 20, 29, 35, 46, 49.6, 50
        Statistics s = Statistics.of(50, 15, 40, 20, 35); // unsorted on purpose
        assertEquals(15, s.percentile(0), EPS);
        assertEquals(20, s.percentile(25), EPS);
        assertEquals(29, s.percentile(40), EPS);
        assertEquals(35, s.median(), EPS);
        assertEquals(46, s.percentile(90), EPS);
        assertEquals(49.6, s.percentile(99), EPS);
        assertEquals(50, s.percentile(100), EPS);
        assertEquals(15, s.min(), EPS);
        assertEquals(50, s.max(), EPS);
    }

    @Test
    void medianOfAnEvenSampleIsTheMeanOfTheMiddleTwo() {
        assertEquals(2.5, Statistics.of(4, 1, 3, 2).median(), EPS);
        // numpy.percentile(range(1, 11), 90) = 9.1
        assertEquals(9.1, Statistics.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10).percentile(90), EPS);
    }

    @Test
    void meanAndSampleStandardDeviation() {
        Statistics s = Statistics.of(2, 4, 4, 4, 5, 5, 7, 9);
        assertEquals(5, s.mean(), EPS);
        assertEquals(Math.sqrt(32.0 / 7), s.stddev(), EPS); // divisor n - 1
        assertEquals(8, s.count());
    }

    @Test
    void aSingleValueIsEveryPercentileAndHasNoSpread() {
        Statistics s = Statistics.of(3.5);
        assertEquals(3.5, s.percentile(0), EPS);
        assertEquals(3.5, s.percentile(99), EPS);
        assertEquals(3.5, s.mean(), EPS);
        assertTrue(Double.isNaN(s.stddev()));
    }

    @Test
    void badInputIsRefused() {
        assertThrows(IllegalArgumentException.class, Statistics::of);
        assertThrows(IllegalArgumentException.class, () -> Statistics.of(1, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Statistics.of(1).percentile(101));
        assertThrows(IllegalArgumentException.class, () -> Statistics.of(1).percentile(-1));
    }

    @Test
    void relativeL2IsRelativeToTheReference() {
        assertEquals(0.1, Results.relL2(new float[] {1.1f, 0f}, new float[] {1f, 0f}), 1e-6);
        assertEquals(0, Results.relL2(new float[] {3f, 4f}, new float[] {3f, 4f}), 0);
        assertThrows(IllegalArgumentException.class, () -> Results.relL2(new float[1], new float[2]));
    }
}
