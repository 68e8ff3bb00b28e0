package dev.jresnet.cuda;

import org.bytedeco.javacpp.Loader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/** Loading the presets one library at a time, and where their native libraries came from. */
final class NativeLibs {
    private static final Pattern CUDA_LIB = Pattern.compile("lib(cuda|cudart|cudnn\\w*|cublas\\w*|nvrtc[\\w-]*)\\.so");

    private NativeLibs() {}

    /** Null when {@code Loader.load(presetClass)} succeeds, else the reason in a few words. */
    static String loadError(Class<?> presetClass) {
        try {
            Loader.load(presetClass);
            return null;
        } catch (LinkageError e) {
            return CudaAvailability.explain(e);
        } catch (RuntimeException e) {
            return "JavaCPP could not load " + presetClass.getSimpleName() + ": " + e;
        }
    }

    /**
     * Paths of the CUDA libraries in this process: JavaCPP's {@code Loader.getLoadedLibraries()} (name to
     * path) merged with the lines of /proc/self/maps that name libcuda, libcudart, libcudnn*, libcublas* or
     * libnvrtc* (which also shows what the dynamic linker pulled in by itself).
     */
    static Map<String, String> loadedLibraries() {
        Map<String, String> libs = new TreeMap<>();
        try {
            for (Map.Entry<String, String> e : Loader.getLoadedLibraries().entrySet()) {
                String path = e.getValue();
                if (path != null && CUDA_LIB.matcher(path).find()) {
                    libs.put(Path.of(path).getFileName().toString(), path);
                }
            }
        } catch (RuntimeException | LinkageError e) {
            // JavaCPP's own native part missing: /proc/self/maps still answers
        }
        Path maps = Path.of("/proc/self/maps");
        if (Files.isReadable(maps)) {
            try {
                for (String line : Files.readAllLines(maps)) {
                    int slash = line.indexOf('/');
                    if (slash < 0) {
                        continue;
                    }
                    String path = line.substring(slash).trim();
                    if (CUDA_LIB.matcher(path).find()) {
                        libs.putIfAbsent(Path.of(path).getFileName().toString(), path);
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not Linux, or unreadable: JavaCPP's map is enough
            }
        }
        return libs;
    }

    /** What to do when {@code reason} (from {@link CudaAvailability#explain}) names a missing library, in one line. */
    static String installHint(String reason) {
        String r = reason == null ? "" : reason;
        String fix = CudaLibraries.fixFor(r);
        if (fix != null) {
            return fix;
        }
        if (r.contains("no CUDA device")) {
            return "no NVIDIA GPU is visible: check nvidia-smi, CUDA_VISIBLE_DEVICES, and the container's GPU access";
        }
        if (r.contains("cudaGetDeviceCount")) {
            return "the driver is installed but unusable: check nvidia-smi, that the driver supports CUDA 13,"
                    + " and /dev/nvidia* permissions";
        }
        return "check the NVIDIA driver (580+), and the CUDA 13 runtime, cuBLAS, cuDNN 9 and NVRTC that `jresnet doctor`"
                + " lists";
    }
}
