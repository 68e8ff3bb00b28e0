package dev.jresnet.cuda;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The native libraries the GPU engine needs (what the presets' JNI libraries link, see {@code readelf -d}), where
 * each one is, and the one-line fix for a missing one. The fixes name NVIDIA's apt packages (its CUDA repository),
 * the pip wheels, and the {@code cuda-redist} Maven profile, which brings only the CUDA runtime and NVRTC.
 */
final class CudaLibraries {
    /** A required library: its soname, what it is, and how to install it. */
    record Library(String soname, String what, String fix) {}

    /** Said after every fix but the driver's: how a library that is installed somewhere gets found. */
    static final String FIND = "; the jresnet launcher finds it in CUDA, pip and PyTorch folders, else put its folder on"
            + " LD_LIBRARY_PATH";

    static final List<Library> REQUIRED = List.of(
            new Library("libcuda.so.1", "NVIDIA driver", "install the NVIDIA driver, 580 or newer (CUDA 13);"
                    + " without an NVIDIA GPU the CPU engine runs"),
            new Library("libcudart.so.13", "CUDA runtime", "apt install cuda-cudart-13-0, or pip install"
                    + " \"nvidia-cuda-runtime==13.*\", or build with mvn -Pcuda-redist" + FIND),
            new Library("libcublas.so.13", "cuBLAS", "apt install libcublas-13-0, or pip install"
                    + " \"nvidia-cublas==13.*\"" + FIND),
            new Library("libcublasLt.so.13", "cuBLASLt", "apt install libcublas-13-0, or pip install"
                    + " \"nvidia-cublas==13.*\"" + FIND),
            new Library("libcudnn.so.9", "cuDNN 9 with its libcudnn_*.so.9", "apt install libcudnn9-cuda-13, or pip"
                    + " install \"nvidia-cudnn-cu13==9.*\"" + FIND),
            new Library("libnvrtc.so.13", "NVRTC", "apt install cuda-nvrtc-13-0, or pip install"
                    + " \"nvidia-cuda-nvrtc==13.*\", or build with mvn -Pcuda-redist" + FIND),
            new Library("libnvrtc-builtins.so.13", "NVRTC builtins", "comes with NVRTC: apt install cuda-nvrtc-13-0,"
                    + " or pip install \"nvidia-cuda-nvrtc==13.*\", or build with mvn -Pcuda-redist" + FIND));

    /** Folders searched besides LD_LIBRARY_PATH (bin/jresnet-env searches more and puts them on LD_LIBRARY_PATH). */
    private static final List<String> SYSTEM_DIRS = List.of("/usr/local/cuda/lib64",
            "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/nvidia/lib64", "/usr/lib/x86_64-linux-gnu",
            "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib");

    private CudaLibraries() {}

    /**
     * One line per required library: "loaded PATH" (mapped in this process), "found PATH (not loaded)", or
     * "missing; fix: ...". {@code loaded} is {@link NativeLibs#loadedLibraries()}; {@code launcherFound} is
     * bin/jresnet-env's JRESNET_CUDA_FOUND ("name=path ..."), null outside the launcher.
     */
    static List<String> report(Map<String, String> loaded, String launcherFound, List<String> dirs) {
        List<String> lines = new ArrayList<>();
        for (Library lib : REQUIRED) {
            String where = loadedPath(lib.soname(), loaded);
            String state;
            if (where != null) {
                state = "loaded " + where;
            } else if ((where = find(lib.soname(), launcherFound, dirs)) != null) {
                state = "found " + where + " (not loaded)";
            } else {
                state = "missing; fix: " + lib.fix();
            }
            lines.add(lib.soname() + " (" + lib.what() + "): " + state);
        }
        return lines;
    }

    /** {@link #report} for this process: its loaded libraries, JRESNET_CUDA_FOUND, LD_LIBRARY_PATH and the system folders. */
    static List<String> report() {
        return report(NativeLibs.loadedLibraries(), System.getenv("JRESNET_CUDA_FOUND"), searchDirs());
    }

    /** The fix for the library that {@code reason} names ("libcudnn_cnn.so.9 not found"), null if it names none. */
    static String fixFor(String reason) {
        String r = reason.toLowerCase(Locale.ROOT);
        // Most specific first: "libcublaslt" before "libcublas", "libnvrtc-builtins" before "libnvrtc",
        // "libcudart" and "libcudnn" before "libcuda.so".
        for (String key : List.of("libnvrtc-builtins", "libnvrtc", "libcublaslt", "libcublas", "libcudnn", "libcudart",
                "libcuda.so")) {
            if (r.contains(key)) {
                return REQUIRED.stream().filter(l -> l.soname().toLowerCase(Locale.ROOT).startsWith(key))
                        .findFirst().map(Library::fix).orElse(null);
            }
        }
        return null;
    }

    static List<String> searchDirs() {
        List<String> dirs = new ArrayList<>();
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            for (String d : ld.split(File.pathSeparator)) {
                if (!d.isEmpty()) {
                    dirs.add(d);
                }
            }
        }
        dirs.addAll(SYSTEM_DIRS);
        return dirs;
    }

    /** The loaded file for {@code soname}: its own name, or a versioned one ("libcudnn.so.9.13.0"). */
    private static String loadedPath(String soname, Map<String, String> loaded) {
        for (Map.Entry<String, String> e : loaded.entrySet()) {
            if (e.getKey().equals(soname) || e.getKey().startsWith(soname + ".")) {
                return e.getValue();
            }
        }
        return null;
    }

    private static String find(String soname, String launcherFound, List<String> dirs) {
        if (launcherFound != null) {
            for (String entry : launcherFound.trim().split("\\s+")) {
                if (entry.startsWith(soname + "=")) {
                    return entry.substring(soname.length() + 1);
                }
            }
        }
        for (String d : dirs) {
            Path dir = Path.of(d);
            if (Files.exists(dir.resolve(soname))) {
                return dir.resolve(soname).toString();
            }
            if (Files.isDirectory(dir)) {
                try (Stream<Path> files = Files.list(dir)) {
                    String versioned = files.map(p -> p.getFileName().toString())
                            .filter(n -> n.startsWith(soname + ".")).sorted().findFirst().orElse(null);
                    if (versioned != null) {
                        return dir.resolve(versioned).toString();
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    // an unreadable folder holds nothing we can use
                }
            }
        }
        return null;
    }
}
