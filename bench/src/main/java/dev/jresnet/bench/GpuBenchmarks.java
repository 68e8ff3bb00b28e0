package dev.jresnet.bench;

import dev.jresnet.cuda.CudaAvailability;

/**
 * What the JMH GPU benchmarks ({@link ResNet50GpuBenchmark}, {@link ConvGpuBenchmark}) do without a usable GPU:
 * by default their {@code @Setup} prints a warning and the benchmark method does nothing, so a run of the whole
 * suite on a CPU machine goes on (and the trial's score, a no-op's, is meaningless: the warning says so, again in
 * {@code @TearDown}, next to it). With {@code -Djresnet.bench.requireGpu=true} in the forked JVM
 * ({@code -jvmArgsAppend -Djresnet.bench.requireGpu=true}) the setup throws instead, and JMH reports the trial
 * as failed with the reason.
 */
final class GpuBenchmarks {
    static final String REQUIRE_GPU = "jresnet.bench.requireGpu";

    private GpuBenchmarks() {}

    /** Null when the GPU engine can run here, else why not (e.g. "libcuda.so.1 not found"). */
    static String unavailableReason() {
        CudaAvailability.Status s = CudaAvailability.backendStatus();
        return s.usable() ? null : s.reason();
    }

    /** The warning printed (or thrown, with {@value #REQUIRE_GPU}) when {@code benchmark} cannot run. */
    static String skipMessage(String benchmark, String reason) {
        return "SKIPPED " + benchmark + ": no usable GPU (" + reason + "); the benchmark does nothing and its score "
                + "is meaningless. GPU benchmarks need an NVIDIA GPU with CUDA 13 and cuDNN 9 (see bench/README.md)";
    }

    /**
     * Null when the GPU can run {@code benchmark}; otherwise prints the skip warning and returns it, or throws
     * IllegalStateException with it when the system property {@value #REQUIRE_GPU} is true.
     */
    static String skipIfNoGpu(String benchmark) {
        String reason = unavailableReason();
        if (reason == null) {
            return null;
        }
        if (Boolean.getBoolean(REQUIRE_GPU)) {
            throw new IllegalStateException(benchmark + " needs a usable GPU: " + reason + " (-D" + REQUIRE_GPU
                    + "=true; see bench/README.md)");
        }
        String m = skipMessage(benchmark, reason);
        System.out.println(m);
        return m;
    }
}
