package dev.jresnet.cuda;

import static org.bytedeco.cuda.global.cudnn.*;

/** Checks for cuDNN ({@code cudnnStatus_t}) and its version. */
public final class Cudnn {
    private Cudnn() {}

    /** Throws a {@link CudaException} unless {@code status} is {@code CUDNN_STATUS_SUCCESS}. */
    public static void check(int status, String call, Object... context) {
        if (status != CUDNN_STATUS_SUCCESS) {
            throw new CudaException(CudaException.Library.CUDNN, call, status, errorString(status),
                    Checks.context(context));
        }
    }

    /** {@code cudnnGetErrorString}, e.g. "CUDNN_STATUS_BAD_PARAM". */
    public static String errorString(int status) {
        try {
            return cudnnGetErrorString(status).getString();
        } catch (LinkageError e) {
            return "cudnnStatus_t " + status + " (cuDNN not loaded)";
        }
    }

    /** {@code cudnnGetVersion()} as "9.19.0" (cuDNN 9 encodes 10000 * major + 100 * minor + patch). */
    public static String version() {
        long v = cudnnGetVersion();
        return versionString(v);
    }

    static String versionString(long v) {
        return v >= 10000 ? (v / 10000) + "." + (v % 10000) / 100 + "." + v % 100
                : (v / 1000) + "." + (v % 1000) / 100 + "." + v % 100; // cuDNN 8 and older
    }
}
