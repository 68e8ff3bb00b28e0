package dev.jresnet.cuda;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.cuda.global.cudart;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds out, once per JVM, whether CUDA is usable: the JavaCPP CUDA classes must load (they need
 * libcuda and the CUDA runtime) and {@code cudaGetDeviceCount} must report a device.
 */
public final class CudaAvailability {
    /** Usable, or not with the reason in a few words (for example "libcuda.so.1 not found"). */
    public record Status(boolean usable, int deviceCount, String reason) {}

    private static final Pattern MISSING_LIB = Pattern.compile("(lib[\\w.+-]+\\.so[.\\d]*): cannot open shared object file");
    private static volatile Status status;
    private static volatile Status backendStatus;

    private CudaAvailability() {}

    public static Status status() {
        Status s = status;
        if (s == null) {
            synchronized (CudaAvailability.class) {
                s = status;
                if (s == null) {
                    s = probe();
                    status = s;
                }
            }
        }
        return s;
    }

    /**
     * What the GPU engine needs: {@link #status()} usable, and cuDNN, cuBLAS and NVRTC load. The reason of an
     * unusable status names the first missing piece, e.g. "cuDNN unusable: libcudnn.so.9 not found".
     */
    public static Status backendStatus() {
        Status s = backendStatus;
        if (s == null) {
            synchronized (CudaAvailability.class) {
                s = backendStatus;
                if (s == null) {
                    s = probeBackend();
                    backendStatus = s;
                }
            }
        }
        return s;
    }

    private static Status probeBackend() {
        Status s = status();
        if (!s.usable()) {
            return s;
        }
        String[] names = {"cuDNN", "cuBLAS", "NVRTC"};
        Class<?>[] presets = {org.bytedeco.cuda.global.cudnn.class, org.bytedeco.cuda.global.cublas.class,
                org.bytedeco.cuda.global.nvrtc.class};
        for (int i = 0; i < names.length; i++) {
            String error = NativeLibs.loadError(presets[i]);
            if (error != null) {
                return new Status(false, s.deviceCount(), names[i] + " unusable: " + error);
            }
        }
        return s;
    }

    /** What to install for an unusable status's reason, in one line. */
    public static String installHint(String reason) {
        return NativeLibs.installHint(reason);
    }

    private static Status probe() {
        try {
            Loader.load(cudart.class);
        } catch (LinkageError e) {
            return new Status(false, 0, explain(e));
        } catch (RuntimeException e) {
            return new Status(false, 0, "JavaCPP could not load CUDA: " + e);
        }
        int[] count = {0};
        int rc = cudart.cudaGetDeviceCount(count);
        if (rc != cudart.cudaSuccess) {
            return new Status(false, 0, "cudaGetDeviceCount failed: " + cudart.cudaGetErrorString(rc).getString());
        }
        if (count[0] == 0) {
            return new Status(false, 0, "no CUDA device");
        }
        return new Status(true, count[0], count[0] + " CUDA device(s)");
    }

    /** Turns JavaCPP's chained linkage error into the name of the first missing library. */
    static String explain(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            Matcher matcher = MISSING_LIB.matcher(m);
            if (matcher.find()) {
                return matcher.group(1) + " not found";
            }
        }
        String m = String.valueOf(e.getMessage());
        return e.getClass().getSimpleName() + ": " + (m.length() > 200 ? m.substring(0, 200) + "..." : m);
    }
}
