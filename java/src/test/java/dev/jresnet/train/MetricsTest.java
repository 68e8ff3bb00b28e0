package dev.jresnet.train;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsTest {
    private static Tensor logits(int k, float... v) {
        return new Tensor(Shape.of(v.length / k, k), v);
    }

    @Test
    void topOneTopFiveAndConfusion() {
        Metrics m = new Metrics(7);
        m.add(logits(7,
                0, 9, 1, 2, 3, 4, 5,    // label 1: top-1
                9, 8, 7, 6, 5, 4, 3,    // label 4: rank 4, in the top 5
                9, 8, 7, 6, 5, 4, 3),   // label 5: rank 5, not in the top 5
                new int[] {1, 4, 5});
        assertEquals(3, m.count());
        assertEquals(1.0 / 3, m.top1(), 1e-12);
        assertEquals(2.0 / 3, m.top5(), 1e-12);
        int[][] c = m.confusionMatrix();
        assertEquals(1, c[1][1]);
        assertEquals(1, c[4][0]);
        assertEquals(1, c[5][0]);
        double[] acc = m.perClassAccuracy();
        assertEquals(1.0, acc[1]);
        assertEquals(0.0, acc[4]);
        assertTrue(Double.isNaN(acc[2]));
    }

    @Test
    void tiesGoToTheLowerIndex() {
        Metrics m = new Metrics(7);
        // All equal: argmax is class 0, and the top 5 are classes 0..4.
        float[] equal = new float[7];
        m.add(logits(7, equal), new int[] {0});
        m.add(logits(7, equal), new int[] {4});
        m.add(logits(7, equal), new int[] {5});
        assertEquals(1.0 / 3, m.top1(), 1e-12);
        assertEquals(2.0 / 3, m.top5(), 1e-12);
        assertEquals(3, m.confusionMatrix()[0][0] + m.confusionMatrix()[4][0] + m.confusionMatrix()[5][0]);
        // A tie for the maximum with a lower index is not a top-1 hit.
        Metrics t = new Metrics(2);
        t.add(logits(2, 1, 1), new int[] {1});
        assertEquals(0.0, t.top1());
        assertTrue(Double.isNaN(t.top5()), "2 classes: every row is within the top 5, so top-5 is NaN");
    }

    @Test
    void topFiveIsNaNWithFiveClassesOrFewerAndMeasuredWithSix() {
        for (int k = 1; k <= 7; k++) {
            Metrics m = new Metrics(k);
            float[] row = new float[k];
            row[0] = 1; // predicts class 0; the label is the last class, ranked last
            m.add(logits(k, row), new int[] {k - 1});
            if (k <= 5) {
                assertTrue(Double.isNaN(m.top5()), k + " classes: " + m.top5());
                assertTrue(!m.toString().contains("top-5"), m.toString());
            } else {
                assertEquals(0.0, m.top5(), k + " classes: the label is ranked " + k + "th");
                assertTrue(m.toString().contains("top-5 0.00 %"), m.toString());
            }
            assertEquals(k > 5, Metrics.hasTop5(k));
        }
    }

    @Test
    void accumulatesAcrossBatches() {
        Metrics m = new Metrics(2);
        m.add(logits(2, 1, 0), new int[] {0});
        m.add(logits(2, 1, 0, 0, 1), new int[] {1, 1});
        assertEquals(2.0 / 3, m.top1(), 1e-12);
        assertArrayEquals(new int[][] {{1, 0}, {1, 1}}, m.confusionMatrix());
        assertEquals(0.5, m.perClassAccuracy()[1]);
    }

    @Test
    void rejectsBadInputWithoutCounting() {
        Metrics m = new Metrics(3);
        assertThrows(IllegalArgumentException.class, () -> m.add(logits(2, 1, 0), new int[] {0}));
        assertThrows(IllegalArgumentException.class, () -> m.add(logits(3, 1, 0, 0), new int[] {3}));
        assertThrows(IllegalArgumentException.class, () -> m.add(logits(3, 1, 0, 0), new int[] {0, 1}));
        assertThrows(IllegalArgumentException.class,
                () -> m.add(logits(3, 1, 0, 0, Float.NaN, 0, 0), new int[] {0, 0}));
        assertEquals(0, m.count());
        assertTrue(Double.isNaN(m.top1()));
    }

    @Test
    void confusionText() {
        Metrics m = new Metrics(2);
        m.add(logits(2, 1, 0, 1, 0, 0, 1), new int[] {0, 1, 1});
        String text = m.confusionText(List.of("cat", "a very long class name indeed"));
        System.out.print(text);
        String[] lines = text.split("\n");
        assertEquals(3, lines.length);
        assertTrue(lines[1].startsWith("0 cat"), text);
        assertTrue(lines[1].contains("100.0 %"), text);
        assertTrue(lines[2].contains(" 1 ") && lines[2].contains("50.0 %"), text);
        assertThrows(IllegalArgumentException.class, () -> m.confusionText(List.of("one")));
    }
}
