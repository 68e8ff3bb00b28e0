package dev.jresnet.bench;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The kernel lab: every distinct convolution shape of ResNet-50, on every algorithm of a backend. CPU kernels
 * ({@link #run}): first checked against the backend's reference algorithm, then timed in turns (as the whole-model
 * runs are). GPU algorithms ({@link #runAlone}): checked against {@code CpuOps.conv2d}, then, if valid, timed one
 * after another on the backend's clock.
 */
final class LayerLab {
    /** Timed runs of a valid GPU algorithm at least, whatever the time budget. */
    static final int MIN_RUNS = 3;

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
            float[] input = input(s, batch, done);
            float[] weight = weight(s, done);
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
                    rows.add(new Results.LayerResult(backend.section(), backend.precision(), s, algos.get(i).name(),
                            algos.get(i).inUse(), st, flops / st.mean() / 1e9, err, backend.tolerance(), -1,
                            err <= backend.tolerance() ? Results.LayerStatus.VALID : Results.LayerStatus.INVALID, ""));
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
     * The GPU way: for each shape, the CPU reference ({@code CpuOps.conv2d}) once, then every algorithm of every
     * backend: prepared (unsupported ones are listed as such), run once and checked against the reference within
     * the backend's tolerance, and only if valid timed: warm-up runs for about {@code warmupSeconds}, then timed
     * runs for about {@code seconds} (estimated from one run), at least {@link #MIN_RUNS} and at most
     * {@code maxRuns}. Rows come backend by backend (section), then shape by shape, algorithms in their order.
     */
    static List<Results.LayerResult> runAlone(List<ConvBackend> backends, List<ConvShape> shapes, int batch,
                                              double warmupSeconds, double seconds, int maxRuns,
                                              RoundRobin.Progress progress) throws Exception {
        List<List<Results.LayerResult>> perBackend = new ArrayList<>();
        for (int i = 0; i < backends.size(); i++) {
            perBackend.add(new ArrayList<>());
        }
        int done = 0;
        for (ConvShape s : shapes) {
            done++;
            progress.say(String.format(Locale.ROOT, "[%d/%d] %s: CPU reference...", done, shapes.size(), s.label()));
            float[] input = input(s, batch, done);
            float[] weight = weight(s, done);
            float[] reference = cpuReference(s, batch, input, weight);
            double flops = (double) s.flopsPerImage() * batch;
            for (int bi = 0; bi < backends.size(); bi++) {
                ConvBackend b = backends.get(bi);
                List<Results.LayerResult> rows = perBackend.get(bi);
                String pick;
                String pickNote = "";
                try {
                    pick = b.inUse(s, batch);
                } catch (Exception e) {
                    pick = null;
                    pickNote = "engine's choice failed: " + message(e);
                    progress.say(b.section() + " " + s.label() + ": " + pickNote);
                }
                int valid = 0;
                for (ConvBackend.ConvAlgorithm a : b.algorithms()) {
                    boolean inUse = a.name().equals(pick);
                    rows.add(one(b, a, s, batch, input, weight, reference, flops, inUse, warmupSeconds, seconds,
                            maxRuns, pickNote));
                    if (rows.get(rows.size() - 1).status() == Results.LayerStatus.VALID) {
                        valid++;
                    }
                }
                progress.say(String.format(Locale.ROOT, "  %s: %d of %d algorithms valid, engine's pick %s",
                        b.section(), valid, b.algorithms().size(), pick == null ? "-" : pick));
            }
        }
        List<Results.LayerResult> all = new ArrayList<>();
        perBackend.forEach(all::addAll);
        return all;
    }

    private static Results.LayerResult one(ConvBackend b, ConvBackend.ConvAlgorithm a, ConvShape s, int batch,
                                           float[] input, float[] weight, float[] reference, double flops,
                                           boolean inUse, double warmupSeconds, double seconds, int maxRuns,
                                           String pickNote) {
        double tol = b.tolerance();
        long ws = -1;
        double err = Double.NaN;
        try (ConvBackend.Prepared p = a.prepare(s, batch, input, weight)) {
            ws = p.workspaceBytes();
            p.run();
            err = maxRelError(p.output(), reference);
            if (!(err <= tol)) {
                return row(b, a, s, inUse, null, Double.NaN, err, tol, ws, Results.LayerStatus.INVALID,
                        join(pickNote, Double.isFinite(err) ? "" : "output not finite"));
            }
            double once = p.time(0, 1)[0];
            int warm = (int) Math.min(1000, Math.max(1, Math.ceil(warmupSeconds / Math.max(once, 1e-7))));
            int runs = (int) Math.min(maxRuns, Math.max(MIN_RUNS, Math.floor(seconds / Math.max(once, 1e-7))));
            Statistics st = Statistics.of(p.time(warm, runs));
            return row(b, a, s, inUse, st, flops / st.median() / 1e9, err, tol, ws, Results.LayerStatus.VALID,
                    pickNote);
        } catch (ConvBackend.Unsupported e) {
            return row(b, a, s, inUse, null, Double.NaN, Double.NaN, tol, -1, Results.LayerStatus.UNSUPPORTED,
                    join(pickNote, e.getMessage()));
        } catch (Exception e) {
            return row(b, a, s, inUse, null, Double.NaN, err, tol, ws, Results.LayerStatus.FAILED,
                    join(pickNote, message(e)));
        }
    }

    private static Results.LayerResult row(ConvBackend b, ConvBackend.ConvAlgorithm a, ConvShape s, boolean inUse,
                                           Statistics st, double gflops, double err, double tol, long ws,
                                           Results.LayerStatus status, String note) {
        return new Results.LayerResult(b.section(), b.precision(), s, a.name(), inUse, st, gflops, err, tol, ws,
                status, note == null ? "" : note);
    }

    private static String join(String a, String b) {
        return a.isEmpty() ? b : b.isEmpty() ? a : a + "; " + b;
    }

    private static String message(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    /** {@code CpuOps.conv2d} (the engine's CPU kernel, no bias) on the lab's input and weights. */
    static float[] cpuReference(ConvShape s, int batch, float[] input, float[] weight) {
        Tensor in = new Tensor(Shape.of(batch, s.c(), s.h(), s.w()), input);
        Tensor w = new Tensor(Shape.of(s.k(), s.c(), s.r(), s.r()), weight);
        Tensor out = Tensor.zeros(batch, s.k(), s.p(), s.q());
        CpuOps.conv2d(out, in, w, null, s.stride(), s.pad());
        return out.data();
    }

    /** The seeded standard-normal input [batch, C, H, W] of the {@code index}-th shape (1-based). */
    static float[] input(ConvShape s, int batch, int index) {
        return gaussian(Math.multiplyExact(batch, s.c() * s.h() * s.w()), 1 + index);
    }

    /** The seeded weights [K, C, R, R] of the {@code index}-th shape, Kaiming-scaled. */
    static float[] weight(ConvShape s, int index) {
        // Kaiming-like scale keeps outputs near unit size, so relative errors mean the same at every layer.
        int cg = s.c() / s.groups();
        float[] weight = gaussian(s.k() * cg * s.r() * s.r(), 1000 + index);
        float scale = (float) Math.sqrt(2.0 / (cg * s.r() * s.r()));
        for (int i = 0; i < weight.length; i++) {
            weight[i] *= scale;
        }
        return weight;
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
