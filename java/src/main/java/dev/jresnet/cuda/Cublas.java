package dev.jresnet.cuda;

import static org.bytedeco.cuda.global.cublas.*;
import static org.bytedeco.cuda.global.cudart.MAJOR_VERSION;
import static org.bytedeco.cuda.global.cudart.MINOR_VERSION;
import static org.bytedeco.cuda.global.cudart.PATCH_LEVEL;

/** Checks for cuBLAS ({@code cublasStatus_t}) and its version. */
public final class Cublas {
    private Cublas() {}

    /** Throws a {@link CudaException} unless {@code status} is {@code CUBLAS_STATUS_SUCCESS}. */
    public static void check(int status, String call, Object... context) {
        if (status != CUBLAS_STATUS_SUCCESS) {
            throw new CudaException(CudaException.Library.CUBLAS, call, status, statusName(status),
                    Checks.context(context));
        }
    }

    /** The enumerator's name, e.g. "CUBLAS_STATUS_ALLOC_FAILED" (no native call: known without cuBLAS). */
    public static String statusName(int status) {
        if (status == CUBLAS_STATUS_SUCCESS) return "CUBLAS_STATUS_SUCCESS";
        if (status == CUBLAS_STATUS_NOT_INITIALIZED) return "CUBLAS_STATUS_NOT_INITIALIZED";
        if (status == CUBLAS_STATUS_ALLOC_FAILED) return "CUBLAS_STATUS_ALLOC_FAILED";
        if (status == CUBLAS_STATUS_INVALID_VALUE) return "CUBLAS_STATUS_INVALID_VALUE";
        if (status == CUBLAS_STATUS_ARCH_MISMATCH) return "CUBLAS_STATUS_ARCH_MISMATCH";
        if (status == CUBLAS_STATUS_MAPPING_ERROR) return "CUBLAS_STATUS_MAPPING_ERROR";
        if (status == CUBLAS_STATUS_EXECUTION_FAILED) return "CUBLAS_STATUS_EXECUTION_FAILED";
        if (status == CUBLAS_STATUS_INTERNAL_ERROR) return "CUBLAS_STATUS_INTERNAL_ERROR";
        if (status == CUBLAS_STATUS_NOT_SUPPORTED) return "CUBLAS_STATUS_NOT_SUPPORTED";
        if (status == CUBLAS_STATUS_LICENSE_ERROR) return "CUBLAS_STATUS_LICENSE_ERROR";
        return "cublasStatus_t " + status;
    }

    /** cuBLAS's version from {@code cublasGetProperty}, e.g. "13.1.0". */
    public static String version() {
        int[] major = {0}, minor = {0}, patch = {0};
        check(cublasGetProperty(MAJOR_VERSION, major), "cublasGetProperty", "MAJOR_VERSION");
        check(cublasGetProperty(MINOR_VERSION, minor), "cublasGetProperty", "MINOR_VERSION");
        check(cublasGetProperty(PATCH_LEVEL, patch), "cublasGetProperty", "PATCH_LEVEL");
        return major[0] + "." + minor[0] + "." + patch[0];
    }
}
