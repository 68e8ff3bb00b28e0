package dev.jresnet.bench;

import dev.jresnet.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.SplittableRandom;

/** The whole-network benchmark: jresnet (engine 0) and its peers on the same input, batch size by batch size. */
final class ModelBench {
    private ModelBench() {}

    /**
     * Runs every batch size; {@code engines.get(0)} is jresnet, the rest are peers compared against it.
     * {@code peakGflops} is the device's peak at the run's precision, if known (the GPU hook).
     */
    static List<Results.BatchResult> run(List<Engine> engines, int[] batches, int size, long flopsPerImage,
                                         double warmup, double seconds, OptionalDouble peakGflops,
                                         RoundRobin.Progress progress) throws Exception {
        List<Results.BatchResult> out = new ArrayList<>();
        for (int batch : batches) {
            Tensor input = input(batch, size);
            for (Engine e : engines) {
                e.load(input);
            }
            List<RoundRobin.Task> tasks = new ArrayList<>();
            for (Engine e : engines) {
                tasks.add(e::run);
            }
            progress.say(String.format(Locale.ROOT, "batch %d: %s, %.1f s warm-up, %.1f s timed", batch,
                    String.join(", ", engines.stream().map(Engine::name).toList()), warmup, seconds));
            List<double[]> times = RoundRobin.run(tasks, warmup, seconds, m -> progress.say("batch " + batch + ": " + m));

            List<Results.EngineResult> results = new ArrayList<>();
            for (int i = 0; i < engines.size(); i++) {
                Statistics st = Statistics.of(times.get(i));
                double ips = batch / st.mean();
                double gflops = PeakFlops.gflops(ips, flopsPerImage);
                OptionalDouble share = peakGflops.isPresent()
                        ? OptionalDouble.of(PeakFlops.share(gflops, peakGflops.getAsDouble())) : OptionalDouble.empty();
                results.add(new Results.EngineResult(engines.get(i).name(), batch, st, ips, gflops, share));
            }
            List<Results.Comparison> comparisons = new ArrayList<>();
            float[] ours = engines.get(0).logits();
            for (int i = 1; i < engines.size(); i++) {
                comparisons.add(new Results.Comparison(engines.get(i).name(), batch,
                        results.get(0).imagesPerSecond() / results.get(i).imagesPerSecond(),
                        Results.relL2(ours, engines.get(i).logits())));
            }
            out.add(new Results.BatchResult(batch, results, comparisons));
        }
        return out;
    }

    /** A seeded standard-normal batch [batch, 3, size, size]: the scale of normalised images, the same every run. */
    static Tensor input(int batch, int size) {
        Tensor t = Tensor.zeros(batch, 3, size, size);
        SplittableRandom r = new SplittableRandom(42);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) r.nextGaussian();
        }
        return t;
    }
}
