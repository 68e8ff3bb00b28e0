package dev.jresnet.cuda;

import static org.bytedeco.cuda.global.nvrtc.*;

/** Checks for NVRTC ({@code nvrtcResult}), its version and the architectures it can compile for. */
public final class Nvrtc {
    private Nvrtc() {}

    /** Throws a {@link CudaException} unless {@code result} is {@code NVRTC_SUCCESS}. */
    public static void check(int result, String call, Object... context) {
        if (result != NVRTC_SUCCESS) {
            throw new CudaException(CudaException.Library.NVRTC, call, result, errorString(result),
                    Checks.context(context));
        }
    }

    /** {@code nvrtcGetErrorString}, e.g. "NVRTC_ERROR_COMPILATION". */
    public static String errorString(int result) {
        try {
            return nvrtcGetErrorString(result).getString();
        } catch (LinkageError e) {
            return "nvrtcResult " + result + " (NVRTC not loaded)";
        }
    }

    /** {@code nvrtcVersion} as "13.1". */
    public static String version() {
        int[] major = {0}, minor = {0};
        check(nvrtcVersion(major, minor), "nvrtcVersion");
        return major[0] + "." + minor[0];
    }

    /** {@code nvrtcGetSupportedArchs}: the sm numbers NVRTC can compile for (75, 80, ..., 90, ...). */
    public static int[] supportedArchs() {
        int[] n = {0};
        check(nvrtcGetNumSupportedArchs(n), "nvrtcGetNumSupportedArchs");
        int[] archs = new int[n[0]];
        if (n[0] > 0) {
            check(nvrtcGetSupportedArchs(archs), "nvrtcGetSupportedArchs");
        }
        return archs;
    }
}
