package dev.jresnet.bench;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/** What a run measured: plain data, written out as text, JSON and Markdown by {@link Output} and {@link Report}. */
final class Results {
    private Results() {}

    /** The settings and circumstances of a run. */
    record RunInfo(String commandLine, MachineInfo machine, String device, String deviceDetail, String precision,
                   String cpuKernel, int jresnetThreads, String weights, boolean pretrained, double seconds,
                   double warmup, int imageSize, long flopsPerImage, String network) {}

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

    /** How an algorithm fared on a shape in the kernel lab. */
    enum LayerStatus {
        /** Output within the tolerance; timed. */
        VALID,
        /** Output outside the tolerance (or not finite): never timed. */
        INVALID,
        /** The algorithm does not apply to the shape (e.g. cuDNN has no workspace size for it). */
        UNSUPPORTED,
        /** Running it failed otherwise (the note says how). */
        FAILED;

        String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * One kernel (or, on a GPU, one algorithm) on one convolution shape. {@code latency} is null when it was not
     * timed (not valid), and then {@code gflops} is NaN; {@code maxRelError} is NaN when there is no output;
     * {@code workspaceBytes} is -1 where it does not apply (CPU) or is unknown (unsupported).
     */
    record LayerResult(String section, String precision, ConvShape shape, String kernel, boolean inUse,
                       Statistics latency, double gflops, double maxRelError, double tolerance, long workspaceBytes,
                       LayerStatus status, String note) {
        /** A timed CPU row, validated against the plain kernel with fp32's tolerance. */
        LayerResult(String section, ConvShape shape, String kernel, boolean inUse, Statistics latency, double gflops,
                    double maxRelError) {
            this(section, "fp32", shape, kernel, inUse, latency, gflops, maxRelError, 1e-5, -1,
                    maxRelError <= 1e-5 ? LayerStatus.VALID : LayerStatus.INVALID, "");
        }

        boolean timed() {
            return latency != null;
        }
    }

    /**
     * The kernel lab at one batch size. {@code gpu}: rows of cuDNN algorithms, validated against the CPU and timed
     * one by one with CUDA events, at most {@code maxRuns} timed runs each (a different table, and a summary).
     */
    record LayerRun(RunInfo info, int batch, List<LayerResult> rows, boolean gpu, int maxRuns, Profile profile) {
        LayerRun(RunInfo info, int batch, List<LayerResult> rows, boolean gpu, int maxRuns) {
            this(info, batch, rows, gpu, maxRuns, null);
        }

        LayerRun(RunInfo info, int batch, List<LayerResult> rows) {
            this(info, batch, rows, false, 0, null);
        }

        /** The CPU lab with the engine's forward pass profiled (profile may be null: not run). */
        LayerRun(RunInfo info, int batch, List<LayerResult> rows, Profile profile) {
            this(info, batch, rows, false, 0, profile);
        }
    }

    /**
     * One step of the engine's forward pass as the profile timed it: {@code latency} in seconds over the timed passes,
     * {@code flops} of the batch (0 for the pools, whose GFLOP/s is then NaN), {@code share} of the mean forward pass;
     * {@code warm} the step run again right after itself on the same operands, alone and warm (null: not timed).
     */
    record StepTime(int index, String name, String group, String shape, long flops, Statistics latency,
                    double gflops, double share, Statistics warm) {}

    /** The steps of one class (3x3 stride 1, 1x1 reduce, ...): their mean times summed, per forward pass. */
    record GroupTime(String group, int steps, double seconds, double gflops, double share) {}

    /**
     * The engine's own forward pass ({@code CpuInference} or {@code DnnlInference}: fused convolutions, pools, fc) at one
     * batch, each step timed
     * inside {@code passes} real passes; {@code forward} is the whole pass, timed around the call.
     */
    record Profile(int batch, int passes, Statistics forward, List<StepTime> steps, List<GroupTime> groups,
                   PeerProfile peer, String engine) {
        /** Without a peer's per-layer times. */
        Profile(int batch, int passes, Statistics forward, List<StepTime> steps, List<GroupTime> groups) {
            this(batch, passes, forward, steps, groups, null, "CpuInference");
        }

        /** The steps' mean times summed: the forward pass less what lies between the steps. */
        double stepsSeconds() {
            return steps.stream().mapToDouble(s -> s.latency().mean()).sum();
        }

        /** Whether the steps' warm times were taken (StepTime.warm). */
        boolean hasWarm() {
            return !steps.isEmpty() && steps.stream().allMatch(s -> s.warm() != null);
        }

        /** The median seconds of the steps of {@code group} (null: all steps), in the passes or warm. */
        double medianSeconds(String group, boolean warm) {
            return steps.stream().filter(s -> group == null || s.group().equals(group))
                    .mapToDouble(s -> (warm ? s.warm() : s.latency()).median()).sum();
        }

        /** The peer's mean seconds for the steps of {@code group} that matched one of its nodes (NaN: no peer). */
        double peerSeconds(String group) {
            if (peer == null) {
                return Double.NaN;
            }
            return steps.stream().filter(s -> s.group().equals(group) && peer.steps().containsKey(s.index()))
                    .mapToDouble(s -> peer.steps().get(s.index()).mean()).sum();
        }
    }

    /**
     * A peer's own time for each step, from its profiler, in runs interleaved with the engine's profiled passes (one
     * peer run after each): {@code steps} by the engine's step index, for the steps one of its nodes matched (by
     * name; ONNX Runtime fuses a convolution, its batch norm, residual and ReLU into one node, as the engine does);
     * {@code unmatchedSeconds} its nodes that match no step (layout reorders, flatten), per run; {@code forward} its
     * whole runs timed around the call.
     */
    record PeerProfile(String name, String detail, int threads, Statistics forward, Map<Integer, Statistics> steps,
                       double unmatchedSeconds, int nodes) {
        /** The matched steps' mean times summed. */
        double stepsSeconds() {
            return steps.values().stream().mapToDouble(Statistics::mean).sum();
        }

        /** All its nodes' mean times: the matched steps' and the unmatched nodes'. */
        double nodesSeconds() {
            return stepsSeconds() + unmatchedSeconds;
        }
    }

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
