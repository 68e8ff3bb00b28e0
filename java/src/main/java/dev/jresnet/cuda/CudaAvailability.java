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
