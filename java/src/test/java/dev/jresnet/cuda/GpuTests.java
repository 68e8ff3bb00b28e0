package dev.jresnet.cuda;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.cuda.global.nvrtc;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Assumptions for {@code @Tag("gpu")} tests: they skip, with the reason, where CUDA (or cuDNN, cuBLAS,
 * NVRTC) is unusable, unless the system property {@code jresnet.requireGpu} is true (on the GPU machine),
 * where they fail instead: a GPU run must never skip silently.
 */
public final class GpuTests {
    private GpuTests() {}

    /** CUDA runtime and driver load and at least one device is present. */
    public static void assumeGpu() {
        CudaAvailability.Status s = CudaAvailability.status();
        if (!s.usable()) {
            skipOrFail("no usable GPU: " + s.reason());
        }
    }

    public static void assumeCudnn() {
        assumeGpu();
        assumeLoads("cuDNN", cudnn.class);
    }

    public static void assumeCublas() {
        assumeGpu();
        assumeLoads("cuBLAS", cublas.class);
    }

    public static void assumeNvrtc() {
        assumeGpu();
        assumeLoads("NVRTC", nvrtc.class);
    }

    private static void assumeLoads(String name, Class<?> presetClass) {
        String error = NativeLibs.loadError(presetClass);
        if (error != null) {
            skipOrFail(name + " unusable: " + error);
        }
    }

    private static void skipOrFail(String reason) {
        if (Boolean.getBoolean("jresnet.requireGpu")) {
            Assertions.fail(reason + " (and -Djresnet.requireGpu=true)");
        }
        Assumptions.abort(reason);
    }
}
