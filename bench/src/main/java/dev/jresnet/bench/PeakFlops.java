package dev.jresnet.bench;

import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * The hook for "share of the device's peak": a device's dense peak GFLOP/s at a precision, where known.
 * The CPU has none here: its peak depends on clocks and vector units that the JVM cannot see reliably, and a
 * guessed peak would make a misleading percentage. For GPUs the CUDA backend will pass the name that the driver
 * reports (cudaGetDeviceProperties) and the precision; the table holds NVIDIA's datasheet figures for dense
 * math (no structured sparsity) at boost clock.
 */
final class PeakFlops {
    private PeakFlops() {}

    /** Name fragment (lower case) → {fp32, tf32, fp16} dense peak in GFLOP/s. */
    private static final Map<String, double[]> GPUS = Map.of(
            "h200", new double[] {67_000, 494_700, 989_400},
            "h100 sxm", new double[] {67_000, 494_700, 989_400},
            "h100 pcie", new double[] {51_000, 378_000, 756_000},
            "a100", new double[] {19_500, 156_000, 312_000},
            "l4", new double[] {30_300, 60_000, 121_000});

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
