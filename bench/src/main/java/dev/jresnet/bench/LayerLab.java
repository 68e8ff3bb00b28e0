package dev.jresnet.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The kernel lab: every distinct convolution shape of ResNet-50, on every algorithm of a backend, first checked
 * against the backend's reference algorithm, then timed in turns (as the whole-model runs are).
 */
final class LayerLab {
    private LayerLab() {}

    static List<Results.LayerResult> run(ConvBackend backend, List<ConvShape> shapes, int batch, double warmup,
                                         double seconds, RoundRobin.Progress progress) throws Exception {
        List<ConvBackend.ConvAlgorithm> algos = backend.algorithms();
        int ref = -1;
        for (int i = 0; i < algos.size(); i++) {
            if (algos.get(i).reference()) {
                ref = i;
            }
        }
        if (ref < 0) {
            throw new IllegalStateException(backend.section() + ": no reference algorithm to validate against");
        }
        List<Results.LayerResult> rows = new ArrayList<>();
        int done = 0;
        for (ConvShape s : shapes) {
            done++;
            progress.say(String.format(Locale.ROOT, "[%d/%d] %s", done, shapes.size(), s.label()));
            float[] input = gaussian(batch * s.c() * s.h() * s.w(), 1 + done);
            // Kaiming-like scale keeps outputs near unit size, so relative errors mean the same at every layer.
            float[] weight = gaussian(s.k() * s.c() * s.r() * s.r(), 1000 + done);
            float scale = (float) Math.sqrt(2.0 / (s.c() * s.r() * s.r()));
            for (int i = 0; i < weight.length; i++) {
                weight[i] *= scale;
            }
            List<ConvBackend.Prepared> prepared = new ArrayList<>();
            try {
                for (ConvBackend.ConvAlgorithm a : algos) {
                    prepared.add(a.prepare(s, batch, input, weight));
                }
                List<RoundRobin.Task> tasks = new ArrayList<>();
                for (ConvBackend.Prepared p : prepared) {
                    tasks.add(first -> p.run());
                }
                List<double[]> times = RoundRobin.run(tasks, warmup, seconds, m -> {});
                float[] reference = prepared.get(ref).output();
                double flops = (double) s.flopsPerImage() * batch;
                for (int i = 0; i < algos.size(); i++) {
                    Statistics st = Statistics.of(times.get(i));
                    double err = i == ref ? 0 : maxRelError(prepared.get(i).output(), reference);
                    rows.add(new Results.LayerResult(backend.section(), s, algos.get(i).name(), algos.get(i).inUse(),
                            st, flops / st.mean() / 1e9, err));
                }
            } finally {
                for (ConvBackend.Prepared p : prepared) {
                    p.close();
                }
            }
        }
        return rows;
    }

    /**
     * max |x - ref| / max |ref|: the worst element's error relative to the output's scale. Relative to each
     * element instead, outputs that happen to be near zero would report huge errors for tiny differences.
     */
    static double maxRelError(float[] x, float[] ref) {
        if (x.length != ref.length) {
            throw new IllegalArgumentException("outputs differ in size: " + x.length + " vs " + ref.length);
        }
        double worst = 0, scale = 0;
        for (int i = 0; i < x.length; i++) {
            worst = Math.max(worst, Math.abs((double) x[i] - ref[i]));
            scale = Math.max(scale, Math.abs((double) ref[i]));
        }
        return scale == 0 ? (worst == 0 ? 0 : Double.POSITIVE_INFINITY) : worst / scale;
    }

    private static float[] gaussian(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }
}
