package dev.jresnet.fuzz;

import dev.jresnet.weights.WeightSet;
import java.util.Map;

/** What any WeightSet a reader returns must satisfy, whatever the file said. */
public final class WeightChecks {
    private WeightChecks() {}

    public static void check(WeightSet w) {
        if (w == null) {
            return;
        }
        for (Map.Entry<String, WeightSet.Entry> e : w.entries().entrySet()) {
            WeightSet.Entry t = e.getValue();
            Hostile.check(t.dims() != null, e.getKey() + ": no dims");
            long n = 1;
            for (int d : t.dims()) {
                Hostile.check(d >= 0, e.getKey() + ": negative dim " + d);
                n *= d;
            }
            Hostile.check(t.floats() != null || t.longs() != null, e.getKey() + ": neither floats nor longs");
            if (t.floats() != null) {
                Hostile.check(t.floats().data().length == n, e.getKey() + ": " + t.floats().data().length
                        + " floats for " + n + " elements");
            }
            if (t.longs() != null) {
                Hostile.check(t.longs().length == n, e.getKey() + ": " + t.longs().length + " longs for " + n + " elements");
            }
        }
    }
}
