package dev.jresnet.testing;

import dev.jresnet.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Two training runs from the same starting weights compared by what they changed. The weights after a few steps are
 * the starting weights plus a small update, so comparing them whole hides almost any error in the update (a tensor
 * that was not updated at all is still within 1e-5 of the other run's). Instead, for every tensor the reference run
 * changed: its update (after - before) against the reference's, and its final value; every other tensor must be bit
 * for bit what it was before.
 *
 * <p>An update is known only to the float32 spacing of the values it lands on: each run rounds its final value to
 * the nearest float, so two exact runs differ by up to half an ulp per element. A small update (0.001 of the
 * weight, a few ulps) is therefore compared against its norm and against that resolution: its error may be
 * {@code rel} of the update plus {@code ulps} times the L2 norm of the final values' ulps. Each tensor's update must
 * be large enough that a tensor left as it was fails that bound, or the comparison could not see a missed update.
 */
public final class UpdateComparison {
    /**
     * One changed tensor: the difference of its update and of its final value, and {@code resolution}, the L2 norm
     * of the ulps of the reference's final values.
     */
    public record Row(String name, Difference update, Difference after, double resolution) {
        /** The error of the update in units of the resolution. */
        public double errorUlps() {
            return update.errorNorm() / resolution;
        }

        /** The reference's update in units of the resolution. */
        public double updateUlps() {
            return update.referenceNorm() / resolution;
        }

        /** Whether the update's error is within {@code rel} of the update plus {@code ulps} resolutions. */
        boolean within(double rel, double ulps) {
            return update.errorNorm() <= rel * update.referenceNorm() + ulps * resolution;
        }

        /** Whether a tensor left unchanged (error = the whole update) would fail {@link #within}. */
        boolean visible(double rel, double ulps) {
            return update.referenceNorm() > rel * update.referenceNorm() + ulps * resolution;
        }
    }

    private final List<Row> rows;
    private final List<String> problems;
    private final int unchanged;

    private UpdateComparison(List<Row> rows, List<String> problems, int unchanged) {
        this.rows = List.copyOf(rows);
        this.problems = List.copyOf(problems);
        this.unchanged = unchanged;
    }

    /** Copies of the values of {@code tensors}, by name, in their order (what a run starts from). */
    public static Map<String, float[]> snapshot(Map<String, Tensor> tensors) {
        Map<String, float[]> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(name, t.data().clone()));
        return out;
    }

    /** The values of {@code tensors}, by name, in their order, not copied. */
    public static Map<String, float[]> values(Map<String, Tensor> tensors) {
        Map<String, float[]> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(name, t.data()));
        return out;
    }

    /**
     * {@code before}: every model tensor at the start; {@code actual}: every model tensor after the run under test;
     * {@code expected}: the reference run's final values of the tensors it changed (its trainable parameters, and
     * the running statistics of train-mode batch norms). Every tensor of {@code before} not in {@code expected} must
     * be unchanged in {@code actual}, bit for bit.
     */
    public static UpdateComparison of(Map<String, float[]> before, Map<String, float[]> actual,
                                      Map<String, float[]> expected) {
        if (!before.keySet().equals(actual.keySet())) {
            throw new IllegalArgumentException("the runs hold different tensors: " + before.keySet() + " vs "
                    + actual.keySet());
        }
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, float[]> e : expected.entrySet()) {
            String name = e.getKey();
            if (!before.containsKey(name)) {
                throw new IllegalArgumentException("the reference changed " + name + ", which the model does not hold");
            }
            double ulps = 0;
            for (float v : e.getValue()) {
                double u = Math.ulp(v);
                ulps += u * u;
            }
            rows.add(new Row(name, Difference.ofUpdate(before.get(name), actual.get(name), e.getValue()),
                    Difference.of(actual.get(name), e.getValue()), Math.sqrt(ulps)));
        }
        List<String> problems = new ArrayList<>();
        int unchanged = 0;
        for (Map.Entry<String, float[]> e : before.entrySet()) {
            if (!expected.containsKey(e.getKey())) {
                if (Arrays.equals(e.getValue(), actual.get(e.getKey()))) {
                    unchanged++;
                } else {
                    problems.add(e.getKey() + " changed, but not in the reference");
                }
            }
        }
        return new UpdateComparison(rows, problems, unchanged);
    }

    public List<Row> rows() {
        return rows;
    }

    /**
     * What is wrong, empty when nothing is: a tensor whose update is off by more than {@code updateRel} of it plus
     * {@code ulps} resolutions (see the class comment), or whose final value is off by more than {@code afterRel}
     * (relative L2); a tensor whose update is too small for that bound to see it missing; a tensor that changed in
     * this run only.
     */
    public List<String> failures(double updateRel, double ulps, double afterRel) {
        List<String> out = new ArrayList<>(problems);
        for (Row r : rows) {
            if (!r.visible(updateRel, ulps)) {
                out.add(String.format(Locale.ROOT, "%s: the reference's update (%.1f ulps) is too small to compare",
                        r.name(), r.updateUlps()));
            } else if (!r.within(updateRel, ulps)) {
                out.add(String.format(Locale.ROOT, "update of %s: error %.3e of it (%.2f ulps), bound %.1e of it "
                        + "+ %.1f ulps", r.name(), r.update().relL2(), r.errorUlps(), updateRel, ulps));
            }
            if (!(r.after().relL2() <= afterRel)) {
                out.add(String.format(Locale.ROOT, "%s after the run: rel L2 %.3e > %.1e", r.name(), r.after().relL2(),
                        afterRel));
            }
        }
        return out;
    }

    /** The worst of each measure, for a test's log (and for measuring the bounds). */
    public String summary() {
        if (rows.isEmpty()) {
            return "no tensor changed in the reference; " + unchanged + " unchanged";
        }
        Row rel = worst(r -> r.update().relL2()), ulps = worst(Row::errorUlps);
        Row after = worst(r -> r.after().relL2()), small = worst(r -> -r.updateUlps());
        return String.format(Locale.ROOT, "%d changed tensors: update error worst %.2e of it (%s), %.2f ulps (%s); "
                        + "smallest update %.0f ulps (%s); final value worst rel L2 %.2e (%s); %d others unchanged",
                rows.size(), rel.update().relL2(), rel.name(), ulps.errorUlps(), ulps.name(), small.updateUlps(),
                small.name(), after.after().relL2(), after.name(), unchanged);
    }

    /** The row with the largest {@code measure}; a NaN counts as the largest. */
    private Row worst(ToDoubleFunction<Row> measure) {
        return rows.stream().max(Comparator.comparingDouble(r -> {
            double v = measure.applyAsDouble(r);
            return Double.isNaN(v) ? Double.POSITIVE_INFINITY : v;
        })).orElseThrow();
    }
}
