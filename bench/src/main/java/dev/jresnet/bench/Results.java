package dev.jresnet.bench;

import java.util.List;
import java.util.OptionalDouble;

/** What a run measured: plain data, written out as text, JSON and Markdown by {@link Output} and {@link Report}. */
final class Results {
    private Results() {}

    /** The settings and circumstances of a run. */
    record RunInfo(String commandLine, MachineInfo machine, String device, String deviceDetail, String precision,
                   String cpuKernel, int jresnetThreads, String weights, boolean pretrained, double seconds,
                   double warmup, int imageSize, long flopsPerImage) {}

    /** A peer that was asked for: available (with what it is) or not (with why). */
    record PeerStatus(String name, boolean available, String detail, int threads) {}

    /**
     * One engine at one batch size. {@code latency} is in seconds per batch; images/s is the batch over the mean
     * latency (the throughput of the timed runs), GFLOP/s that times the FLOPs per image.
     */
    record EngineResult(String engine, int batch, Statistics latency, double imagesPerSecond, double gflops,
                        OptionalDouble peakShare) {}

    /** A peer against jresnet at one batch size: jresnet's images/s over the peer's, and the logits' difference. */
    record Comparison(String peer, int batch, double ratio, double relL2) {}

    record BatchResult(int batch, List<EngineResult> engines, List<Comparison> comparisons) {}

    record ModelRun(RunInfo info, List<PeerStatus> peers, List<BatchResult> batches) {}

    /** One kernel (or, on a GPU, one algorithm) on one convolution shape. */
    record LayerResult(String section, ConvShape shape, String kernel, boolean inUse, Statistics latency,
                       double gflops, double maxRelError) {}

    record LayerRun(RunInfo info, int batch, List<LayerResult> rows) {}

    /**
     * ||a - ref|| / ||ref|| over all elements, in double: how far {@code a} is from the reference {@code ref},
     * relative to the reference's size (the measure the engine's PyTorch and ONNX tests use).
     */
    static double relL2(float[] a, float[] ref) {
        if (a.length != ref.length) {
            throw new IllegalArgumentException("logits differ in size: " + a.length + " vs " + ref.length);
        }
        double d = 0, r = 0;
        for (int i = 0; i < a.length; i++) {
            double e = (double) a[i] - ref[i];
            d += e * e;
            r += (double) ref[i] * ref[i];
        }
        return Math.sqrt(d / r);
    }
}
