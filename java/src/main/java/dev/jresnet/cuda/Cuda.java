package dev.jresnet.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

import static org.bytedeco.cuda.global.cudart.*;

/** Checks for the CUDA runtime ({@code cudaError_t}) and driver ({@code CUresult}) APIs, and version helpers. */
public final class Cuda {
    private Cuda() {}

    /** Throws a {@link CudaException} unless {@code status} is {@code cudaSuccess}. */
    public static void check(int status, String call, Object... context) {
        if (status != cudaSuccess) {
            throw new CudaException(CudaException.Library.CUDA_RUNTIME, call, status, errorString(status),
                    Checks.context(context));
        }
    }

    /** Throws a {@link CudaException} unless {@code result} is {@code CUDA_SUCCESS} (driver API). */
    public static void checkDriver(int result, String call, Object... context) {
        if (result != CUDA_SUCCESS) {
            throw new CudaException(CudaException.Library.CUDA_DRIVER, call, result, driverErrorString(result),
                    Checks.context(context));
        }
    }

    /** "cudaErrorMemoryAllocation: out of memory" ({@code cudaGetErrorName}: {@code cudaGetErrorString}). */
    public static String errorString(int status) {
        try {
            return cudaGetErrorName(status).getString() + ": " + cudaGetErrorString(status).getString();
        } catch (LinkageError e) {
            return "cudaError_t " + status + " (CUDA runtime not loaded)";
        }
    }

    /** "CUDA_ERROR_OUT_OF_MEMORY: out of memory" ({@code cuGetErrorName}: {@code cuGetErrorString}). */
    public static String driverErrorString(int result) {
        try (PointerPointer<BytePointer> name = new PointerPointer<>(1);
             PointerPointer<BytePointer> text = new PointerPointer<>(1)) {
            String n = cuGetErrorName(result, name) == CUDA_SUCCESS && !Pointer.isNull(name.get(0))
                    ? name.getString(0) : "CUresult " + result;
            String t = cuGetErrorString(result, text) == CUDA_SUCCESS && !Pointer.isNull(text.get(0))
                    ? text.getString(0) : "unknown error";
            return n + ": " + t;
        } catch (LinkageError e) {
            return "CUresult " + result + " (CUDA driver not loaded)";
        }
    }

    /** Number of CUDA devices (checked). */
    public static int deviceCount() {
        int[] n = {0};
        check(cudaGetDeviceCount(n), "cudaGetDeviceCount");
        return n[0];
    }

    /** {@code cudaDriverGetVersion}: the newest CUDA the installed driver supports, e.g. 13000. */
    public static int driverVersion() {
        int[] v = {0};
        check(cudaDriverGetVersion(v), "cudaDriverGetVersion");
        return v[0];
    }

    /** {@code cudaRuntimeGetVersion}: the CUDA runtime loaded, e.g. 13010. */
    public static int runtimeVersion() {
        int[] v = {0};
        check(cudaRuntimeGetVersion(v), "cudaRuntimeGetVersion");
        return v[0];
    }

    /** 13010 to "13.1" (CUDA's 1000 * major + 10 * minor encoding). */
    public static String versionString(int v) {
        return (v / 1000) + "." + (v % 1000) / 10;
    }

    /** Clears the runtime's last error (after an expected failure such as an out-of-memory cudaMalloc). */
    static void clearLastError() {
        cudaGetLastError();
    }
}
