package dev.jresnet.bench;

import java.util.Arrays;

/**
 * Summary statistics of a sample (latencies, in whatever unit they were given).
 *
 * <p>Percentiles use <b>linear interpolation between closest ranks</b>, the method NumPy's {@code percentile}
 * uses by default (Hyndman and Fan's type 7): for the sorted sample x[0..n-1] and p in [0, 100], with
 * h = (n - 1) * p / 100, the value is x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]).
 * So the median of an even-sized sample is the mean of its two middle values, p0 is the minimum and p100 the
 * maximum. This method rather than nearest-rank because a timed run often has few samples (tens), where
 * nearest-rank jumps from sample to sample while interpolation moves smoothly.
 *
 * <p>The standard deviation is the sample one (divisor n - 1), NaN for a single value.
 */
public final class Statistics {
    /** The name of the percentile method, as written into reports. */
    public static final String PERCENTILE_METHOD =
            "linear interpolation between closest ranks (NumPy's default, Hyndman-Fan type 7)";

    private final double[] sorted;
    private final double mean;
    private final double stddev;

    private Statistics(double[] sorted) {
        this.sorted = sorted;
        double sum = 0;
        for (double v : sorted) {
            sum += v;
        }
        mean = sum / sorted.length;
        if (sorted.length < 2) {
            stddev = Double.NaN;
        } else {
            double sq = 0;
            for (double v : sorted) {
                sq += (v - mean) * (v - mean);
            }
            stddev = Math.sqrt(sq / (sorted.length - 1));
        }
    }

    /** Statistics of {@code values} (copied; at least one, all finite). */
    public static Statistics of(double... values) {
        if (values == null || values.length == 0) {
            throw new IllegalArgumentException("statistics need at least one value");
        }
        double[] s = values.clone();
        for (double v : s) {
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("statistics need finite values, found " + v);
            }
        }
        Arrays.sort(s);
        return new Statistics(s);
    }

    public int count() {
        return sorted.length;
    }

    /** The p-th percentile, p in [0, 100], by linear interpolation (see the class comment). */
    public double percentile(double p) {
        if (!(p >= 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
        }
        double h = (sorted.length - 1) * p / 100.0;
        int lo = (int) Math.floor(h);
        if (lo >= sorted.length - 1) {
            return sorted[sorted.length - 1];
        }
        return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
    }

    public double median() {
        return percentile(50);
    }

    public double mean() {
        return mean;
    }

    /** Sample standard deviation (n - 1); NaN for one value. */
    public double stddev() {
        return stddev;
    }

    public double min() {
        return sorted[0];
    }

    public double max() {
        return sorted[sorted.length - 1];
    }

    /** The values in ascending order (a copy). */
    public double[] sorted() {
        return sorted.clone();
    }
}
