package dev.jresnet.bench;

import dev.jresnet.graph.CpuEngine;
import dev.jresnet.graph.StepListener;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.GlobalAvgPool;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.MaxPool;
import dev.jresnet.nn.Step;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The kernel lab's profile of what the engine runs: the chosen {@link CpuEngine}'s forward pass, every step (fused
 * convolution with batch norm, residual and ReLU; max-pool; average pool; fc) timed by the engine's
 * {@link StepListener} inside real passes at the asked batch, then grouped as CPU-PERFORMANCE.md's tables are.
 */
final class EngineProfile {
    /** The classes, in the order of the tables. */
    static final List<String> GROUPS = List.of("stem", "3x3 stride 1", "1x1 reduce", "1x1 expand + residual",
            "3x3 stride 2", "1x1 downsample", "other convolutions", "max-pool", "avg-pool + fc");
    /** Timed passes at least, however long a pass takes. */
    static final int MIN_PASSES = 3;
    /** Untimed passes at least. */
    static final int WARMUP_PASSES = 3;

    private EngineProfile() {}

    /** A forward pass that tells the listener of each step (the engine's, or a test's). */
    @FunctionalInterface
    interface Pass {
        void run(StepListener listener);

        /** The engine that runs it, for the headline ("CpuInference", "DnnlInference"). */
        default String engine() {
            return "a test's pass";
        }
    }

    /** The engine's pass on input x. */
    static Pass of(CpuEngine engine, Tensor x) {
        return new Pass() {
            @Override
            public void run(StepListener listener) {
                engine.forward(x, listener);
            }

            @Override
            public String engine() {
                return engine.getClass().getSimpleName();
            }
        };
    }

    /** A seeded standard-normal batch [batch, 3, size, size]. */
    static Tensor input(int batch, int size) {
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[Math.multiplyExact(batch, 3 * size * size)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return new Tensor(Shape.of(batch, 3, size, size), x);
    }

    /** Warm-up and timed seconds of the profile from the lab's per-shape ones: a pass is 0.1 to 1 s here. */
    static double warmup(double perShapeWarmup) {
        return Math.max(2, 4 * perShapeWarmup);
    }

    static double seconds(double perShapeSeconds) {
        return Math.max(3, 5 * perShapeSeconds);
    }

    /**
     * Untimed passes for about {@code warmup} seconds (at least {@link #WARMUP_PASSES}), then timed passes for about
     * {@code seconds} (at
     * least {@link #MIN_PASSES}).
     */
    static Results.Profile run(Pass pass, int batch, double warmup, double seconds) throws Exception {
        return run(pass, null, batch, warmup, seconds);
    }

    /**
     * A peer run per layer: one run after each of the engine's passes (warm-up and timed alike, so that each finds
     * the caches as the other left them), its own profiler timing its nodes.
     */
    interface Peer {
        /** One run of the whole model. */
        void run() throws Exception;

        /** Its nodes' times in its last {@code timedRuns} runs, matched to the steps, by the steps' index. */
        Results.PeerProfile finish(int timedRuns) throws Exception;
    }

    /** As {@link #run(Pass, int, double, double)}, with {@code peer} (null: none) run after each pass. */
    static Results.Profile run(Pass pass, Peer peer, int batch, double warmup, double seconds) throws Exception {
        long warmEnd = System.nanoTime() + (long) (warmup * 1e9);
        // A first pass runs partly interpreted (seconds for ResNet-50): warm up by passes as well as by time.
        for (int i = 0; i < WARMUP_PASSES || System.nanoTime() < warmEnd; i++) {
            pass.run((k, s, in, out, t) -> {});
            if (peer != null) {
                peer.run();
            }
        }
        Map<Integer, StepInfo> steps = new LinkedHashMap<>();
        List<Double> forward = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        int passes = 0, warmPasses = 0;
        while (passes < MIN_PASSES || System.nanoTime() < end) {
            long t0 = System.nanoTime();
            pass.run((i, s, in, out, t) -> steps.computeIfAbsent(i, k -> StepInfo.of(k, s, in, out)).times
                    .add(t / 1e9));
            forward.add((System.nanoTime() - t0) / 1e9);
            passes++;
            if (peer != null) {
                peer.run();
            }
            if (passes % WARM_EVERY == 0) {  // in the same minutes as the timed passes: this VM's speed drifts
                warm(pass, steps);
                warmPasses++;
                if (peer != null) {
                    peer.run();  // the next timed pass, too, finds the caches as the peer left them
                }
            }
        }
        Results.PeerProfile peerProfile = peer == null ? null : peer.finish(passes);
        for (; warmPasses < WARM_PASSES; warmPasses++) {
            warm(pass, steps);
        }
        return profile(batch, passes, Statistics.of(forward.stream().mapToDouble(Double::doubleValue).toArray()),
                new ArrayList<>(steps.values()), peerProfile, pass.engine());
    }

    /**
     * Passes run for the steps' warm times only (warm repeats change the caches, so they are not timed passes): one
     * after every {@link #WARM_EVERY} timed passes, and at least this many.
     */
    static final int WARM_PASSES = 2;
    static final int WARM_EVERY = 3;
    /** Warm runs of each step in each of those passes, right after it runs: their median is one warm time. */
    static final int WARM_REPEATS = 3;

    /**
     * One pass for each step's time alone and warm ({@link StepListener#warmRepeats}): against its time in the pass,
     * what the caches cost it there (its inputs and weights arriving from L3 or memory rather than waiting in L1-L2).
     */
    private static void warm(Pass pass, Map<Integer, StepInfo> steps) {
        StepListener warmOnly = new StepListener() {
            @Override
            public void stepDone(int index, Step step, Shape input, Shape output, long nanos) {
            }

            @Override
            public int warmRepeats() {
                return WARM_REPEATS;
            }

            @Override
            public void stepWarm(int index, long nanos) {
                StepInfo s = steps.get(index);
                if (s != null) {
                    s.warm.add(nanos / 1e9);
                }
            }
        };
        pass.run(warmOnly);
    }

    private static Results.Profile profile(int batch, int passes, Statistics forward, List<StepInfo> infos,
                                           Results.PeerProfile peer, String engine) {
        double total = forward.mean();
        List<Results.StepTime> rows = new ArrayList<>();
        Map<String, double[]> groups = new LinkedHashMap<>();   // group -> {steps, seconds, flops}
        GROUPS.forEach(g -> groups.put(g, new double[3]));
        for (StepInfo s : infos) {
            Statistics st = Statistics.of(s.times.stream().mapToDouble(Double::doubleValue).toArray());
            Statistics warm = s.warm.isEmpty() ? null
                    : Statistics.of(s.warm.stream().mapToDouble(Double::doubleValue).toArray());
            rows.add(new Results.StepTime(s.index, s.name, s.group, s.shape, s.flops, st,
                    s.flops > 0 ? s.flops / st.mean() / 1e9 : Double.NaN, st.mean() / total, warm));
            double[] g = groups.get(s.group);
            g[0]++;
            g[1] += st.mean();
            g[2] += s.flops;
        }
        List<Results.GroupTime> summary = new ArrayList<>();
        groups.forEach((name, g) -> {
            if (g[0] > 0) {
                summary.add(new Results.GroupTime(name, (int) g[0], g[1], g[2] > 0 ? g[2] / g[1] / 1e9 : Double.NaN,
                        g[1] / total));
            }
        });
        return new Results.Profile(batch, passes, forward, rows, summary, peer, engine);
    }

    /** What a step is, read from its first timing; then its times. */
    private record StepInfo(int index, String name, String group, String shape, long flops, List<Double> times,
                            List<Double> warm) {
        static StepInfo of(int index, Step step, Shape in, Shape out) {
            String name;
            String group;
            long flops = 0;
            if (step instanceof ConvBn c) {
                name = c.conv();
                group = EngineProfile.group(c, index);
                // [N, K, P, Q] outputs, each C/groups x R x R multiply-adds
                flops = 2L * out.size() * c.groupChannels() * c.kernel() * c.kernel();
            } else if (step instanceof MaxPool) {
                name = "maxpool";
                group = "max-pool";
            } else if (step instanceof GlobalAvgPool) {
                name = "avgpool";
                group = "avg-pool + fc";
            } else if (step instanceof Linear l) {
                name = l.name();
                group = "avg-pool + fc";
                flops = 2L * in.dim(0) * l.inFeatures() * l.outFeatures();
            } else {
                name = step.getClass().getSimpleName();
                group = "other convolutions";
            }
            return new StepInfo(index, name, group, dims(in) + " -> " + dims(out), flops, new ArrayList<>(),
                    new ArrayList<>());
        }
    }

    /**
     * The class of a fused convolution in a ResNet: the first is the stem; a 1x1 that adds the residual is the
     * block's expand, a 1x1 without ReLU the shortcut's downsample, another 1x1 the reduce.
     */
    static String group(ConvBn c, int index) {
        if (index == 0) {
            return "stem";
        }
        if (c.kernel() == 1) {
            return c.residual() >= 0 ? "1x1 expand + residual" : !c.relu() ? "1x1 downsample" : "1x1 reduce";
        }
        if (c.kernel() == 3) {
            return c.stride() == 1 ? "3x3 stride 1" : "3x3 stride 2";
        }
        return "other convolutions";
    }

    /** "64x56x56" for [N, 64, 56, 56] (the batch is the run's). */
    private static String dims(Shape t) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i < t.rank(); i++) {
            b.append(i > 1 ? "x" : "").append(t.dim(i));
        }
        return b.toString();
    }

    /** The line above the tables. */
    static String headline(Results.Profile p) {
        return String.format(Locale.ROOT, "engine forward pass (%s), batch %d: median %.1f ms, mean %.1f ms "
                        + "over %d passes; the steps sum to %.1f ms (%.1f %% of the mean)", p.engine(), p.batch(),
                p.forward().median() * 1e3, p.forward().mean() * 1e3, p.passes(), p.stepsSeconds() * 1e3,
                100 * p.stepsSeconds() / p.forward().mean());
    }
}
