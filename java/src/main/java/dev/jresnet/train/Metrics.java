package dev.jresnet.train;

import dev.jresnet.tensor.Tensor;

import java.util.List;
import java.util.Locale;

/**
 * Accumulates classification accuracy over batches: top-1, top-5, per-class accuracy and the confusion matrix
 * (rows: true class, columns: top-1 prediction).
 *
 * <p>Ties are broken towards the lower class index, as {@code argmax} does: a label is within the top k when
 * fewer than k classes have a greater logit or an equal logit at a lower index. So a row of equal logits counts
 * as correct for exactly the first k classes, never for all of them.
 */
public final class Metrics {
    private final int numClasses;
    private final long[][] confusion;
    private long count;
    private long top1;
    private long top5;

    public Metrics(int numClasses) {
        if (numClasses < 1) {
            throw new IllegalArgumentException("number of classes must be >= 1, got " + numClasses);
        }
        this.numClasses = numClasses;
        this.confusion = new long[numClasses][numClasses];
    }

    /** Adds a batch: {@code logits} [N, K] with K the number of classes, one label in [0, K) per row. */
    public void add(Tensor logits, int[] labels) {
        if (logits == null || labels == null) {
            throw new IllegalArgumentException("logits and labels must not be null");
        }
        if (logits.rank() != 2 || logits.dim(1) != numClasses) {
            throw new IllegalArgumentException("logits: expected shape [N, " + numClasses + "], found " + logits.shape());
        }
        int n = logits.dim(0);
        if (labels.length != n) {
            throw new IllegalArgumentException("got " + labels.length + " labels for " + n + " rows of logits");
        }
        float[] x = logits.data();
        // Checked first so that a bad batch adds nothing.
        for (int r = 0; r < n; r++) {
            if (labels[r] < 0 || labels[r] >= numClasses) {
                throw new IllegalArgumentException("label " + labels[r] + " of row " + r + " is outside [0, " + numClasses + ")");
            }
            for (int k = 0; k < numClasses; k++) {
                if (Float.isNaN(x[r * numClasses + k])) {
                    throw new IllegalArgumentException("logits row " + r + " holds NaN at class " + k);
                }
            }
        }
        for (int r = 0; r < n; r++) {
            int base = r * numClasses;
            int label = labels[r];
            float target = x[base + label];
            int rank = 0;
            int argmax = 0;
            for (int k = 0; k < numClasses; k++) {
                float v = x[base + k];
                if (v > target || (v == target && k < label)) {
                    rank++;
                }
                if (v > x[base + argmax]) {
                    argmax = k;
                }
            }
            confusion[label][argmax]++;
            if (rank < 1) {
                top1++;
            }
            if (rank < 5) {
                top5++;
            }
            count++;
        }
    }

    public int numClasses() {
        return numClasses;
    }

    public long count() {
        return count;
    }

    /** Fraction of rows whose label has the highest logit (NaN before any row). */
    public double top1() {
        return count == 0 ? Double.NaN : (double) top1 / count;
    }

    /**
     * Fraction of rows whose label is among the 5 highest logits; NaN before any row and with at most 5 classes,
     * where every row would count and the figure says nothing ({@link #hasTop5}).
     */
    public double top5() {
        return count == 0 || !hasTop5(numClasses) ? Double.NaN : (double) top5 / count;
    }

    /** Whether top-5 means anything for {@code numClasses} classes: only with more than 5. */
    public static boolean hasTop5(int numClasses) {
        return numClasses > 5;
    }

    /** Top-1 accuracy of each true class; NaN for a class with no rows. */
    public double[] perClassAccuracy() {
        double[] acc = new double[numClasses];
        for (int c = 0; c < numClasses; c++) {
            long total = 0;
            for (long v : confusion[c]) {
                total += v;
            }
            acc[c] = total == 0 ? Double.NaN : (double) confusion[c][c] / total;
        }
        return acc;
    }

    /** A copy of the counts: {@code [true class][predicted class]}. */
    public int[][] confusionMatrix() {
        int[][] out = new int[numClasses][numClasses];
        for (int i = 0; i < numClasses; i++) {
            for (int j = 0; j < numClasses; j++) {
                out[i][j] = Math.toIntExact(confusion[i][j]);
            }
        }
        return out;
    }

    /** The confusion matrix as a table, rows true classes, with each class's accuracy at the end of its row. */
    public String confusionText(List<String> classNames) {
        return ConfusionTable.render(confusionMatrix(), classNames, perClassAccuracy());
    }

    @Override
    public String toString() {
        String top1 = String.format(Locale.ROOT, "%d images, top-1 %.2f %%", count, 100 * top1());
        return hasTop5(numClasses) ? top1 + String.format(Locale.ROOT, ", top-5 %.2f %%", 100 * top5()) : top1;
    }
}
