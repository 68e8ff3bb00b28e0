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

    /** What to install when {@code reason} (from {@link CudaAvailability#explain}) names a missing library. */
    static String installHint(String reason) {
        String r = reason == null ? "" : reason;
        if (r.contains("libcuda.so")) {
            return "install the NVIDIA driver (it provides libcuda.so.1; driver 580 or newer for CUDA 13), or use"
                    + " the CPU engine on a machine without an NVIDIA GPU";
        }
        if (r.contains("libcudart")) {
            return "install the CUDA 13 runtime (libcudart.so.13, e.g. package cuda-cudart-13-0) and put its lib64"
                    + " folder on LD_LIBRARY_PATH";
        }
        if (r.contains("libcudnn")) {
            return "install cuDNN 9 for CUDA 13 (libcudnn.so.9, e.g. package cudnn9-cuda-13) and put it on"
                    + " LD_LIBRARY_PATH";
        }
        if (r.contains("libcublas")) {
            return "install cuBLAS for CUDA 13 (libcublas.so.13 and libcublasLt.so.13, e.g. package"
                    + " libcublas-13-0) and put it on LD_LIBRARY_PATH";
        }
        if (r.contains("libnvrtc")) {
            return "install NVRTC for CUDA 13 (libnvrtc.so.13 and libnvrtc-builtins, e.g. package"
                    + " cuda-nvrtc-13-0) and put it on LD_LIBRARY_PATH";
        }
        if (r.contains("no CUDA device")) {
            return "no NVIDIA GPU is visible: check nvidia-smi, CUDA_VISIBLE_DEVICES, and the container's GPU access";
        }
        if (r.contains("cudaGetDeviceCount")) {
            return "the driver is installed but unusable: check nvidia-smi, that the driver supports CUDA 13,"
                    + " and /dev/nvidia* permissions";
        }
        return "check the NVIDIA driver, CUDA 13 runtime, cuDNN 9, cuBLAS and NVRTC installation";
    }
}
