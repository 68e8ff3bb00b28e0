package dev.jresnet.bench;

import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * "Share of the device's peak": a device's dense peak GFLOP/s at a precision, where known.
 * The CPU has none here: its peak depends on clocks and vector units that the JVM cannot see reliably, and a
 * guessed peak would make a misleading percentage. For GPUs the benchmark passes the name that the driver reports
 * ({@code cudaGetDeviceProperties}, e.g. "NVIDIA H200") and the precision; the table holds NVIDIA's datasheet
 * figures at boost clock for dense math. The datasheets give tensor-core figures "with sparsity" (2:4 structured
 * sparsity doubles them); the dense figure is half of that. H200 SXM (NVIDIA H200 Tensor Core GPU datasheet,
 * nvidia.com/en-us/data-center/h200): FP32 67 TFLOPS, TF32 Tensor Core 989 TFLOPS sparse = ~494 dense, FP16
 * Tensor Core 1,979 TFLOPS sparse = ~989 dense; the H100 SXM has the same compute (H100 datasheet). fp32 here is
 * the FMA peak (no tensor cores), tf32 and fp16 the tensor-core peaks (fp16 with fp32 accumulation).
 */
final class PeakFlops {
    private PeakFlops() {}

    /** Where the figures come from, for reports. */
    static final String SOURCE = "NVIDIA datasheet, dense (half the 'with sparsity' tensor-core figure), boost clock";

    /** Name fragment (lower case) → {fp32, tf32, fp16} dense peak in GFLOP/s. */
    private static final Map<String, double[]> GPUS = Map.of(
            "h200", new double[] {67_000, 494_700, 989_400},
            "h200 nvl", new double[] {60_000, 417_500, 835_500},
            "h100 sxm", new double[] {67_000, 494_700, 989_400},
            "h100 80gb hbm3", new double[] {67_000, 494_700, 989_400},
            "h100 pcie", new double[] {51_000, 378_000, 756_000},
            "a100", new double[] {19_500, 156_000, 312_000},
            "l4", new double[] {30_300, 60_000, 121_000});

    /** The share of {@code peakGflops} that {@code gflops} is (0.5 = half the peak). */
    static double share(double gflops, double peakGflops) {
        if (!(peakGflops > 0)) {
            throw new IllegalArgumentException("peak must be positive, got " + peakGflops);
        }
        return gflops / peakGflops;
    }

    /** GFLOP/s of {@code imagesPerSecond} images of {@code flopsPerImage} FLOPs each. */
    static double gflops(double imagesPerSecond, long flopsPerImage) {
        return imagesPerSecond * flopsPerImage / 1e9;
    }

    /** Peak GFLOP/s of {@code device} ("cpu" or a GPU's name) at {@code precision} (fp32, tf32, fp16); empty if unknown. */
    static OptionalDouble gflops(String device, String precision) {
        if (device == null || device.equalsIgnoreCase("cpu")) {
            return OptionalDouble.empty();
        }
        String d = device.toLowerCase(Locale.ROOT);
        int column = switch (precision) {
            case "fp32" -> 0;
            case "tf32" -> 1;
            case "fp16" -> 2;
            default -> -1;
        };
        if (column < 0) {
            return OptionalDouble.empty();
        }
        // Longest matching fragment wins, so "h100 pcie" is not taken for "h100 sxm" or the other way round.
        String best = null;
        for (String k : GPUS.keySet()) {
            if (d.contains(k) && (best == null || k.length() > best.length())) {
                best = k;
            }
        }
        return best == null ? OptionalDouble.empty() : OptionalDouble.of(GPUS.get(best)[column]);
    }
}
