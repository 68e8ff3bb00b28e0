package dev.jresnet.cuda;

import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

import static org.bytedeco.cuda.global.nvrtc.*;

/**
 * Compiles CUDA C to a CUBIN for one exact architecture with NVRTC ({@code --gpu-architecture=sm_XX},
 * {@code nvrtcGetCUBIN}), and caches the result on disk, keyed by the SHA-256 of source, architecture,
 * NVRTC version and options. A CUBIN is machine code: the driver loads it without JIT, so an NVRTC newer
 * than the driver is fine (PTX from it would not be).
 *
 * <p>Cache folder: system property {@code jresnet.kernelCache}, else {@code $XDG_CACHE_HOME/jresnet/kernels},
 * else {@code ~/.cache/jresnet/kernels}. A cache that cannot be written only costs a recompilation.
 */
public final class KernelCompiler {
    /**
     * Options for every kernel: {@code --fmad=false} so that {@code (x - mean) / std} and friends are
     * rounded exactly like the CPU reference's Java float arithmetic (IEEE division is NVRTC's default).
     */
    public static final List<String> OPTIONS = List.of("--fmad=false");

    private static final System.Logger LOG = System.getLogger(KernelCompiler.class.getName());

    private final Path cacheDir;

    public KernelCompiler(Path cacheDir) {
        this.cacheDir = cacheDir;
    }

    public static KernelCompiler withDefaultCache() {
        return new KernelCompiler(defaultCacheDir());
    }

    public static Path defaultCacheDir() {
        String prop = System.getProperty("jresnet.kernelCache");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("jresnet").resolve("kernels");
    }

    public Path cacheDir() {
        return cacheDir;
    }

    /** The CUBIN for {@code source} and {@code arch} ("sm_90"): from the cache, else compiled and cached. */
    public byte[] cubin(String fileName, String source, String arch) {
        Path cached = cachePath(fileName, source, arch, Nvrtc.version());
        try {
            if (Files.isRegularFile(cached)) {
                byte[] bytes = Files.readAllBytes(cached);
                if (looksLikeCubin(bytes)) {
                    return bytes;
                }
                LOG.log(System.Logger.Level.WARNING, "cached kernel " + cached + " is not a CUBIN: compiling again");
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot read cached kernel " + cached + ": " + e);
        }
        byte[] cubin = compile(fileName, source, arch);
        store(cached, cubin);
        return cubin;
    }

    /**
     * A CUBIN is an ELF file. Anything else must not reach cuModuleLoadData, which would take it for
     * NUL-terminated PTX text and read past its end.
     */
    static boolean looksLikeCubin(byte[] bytes) {
        return bytes.length > 64 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F';
    }

    /** Deletes the cache entry of this source (after the driver rejected it). */
    public void evict(String fileName, String source, String arch) {
        try {
            Files.deleteIfExists(cachePath(fileName, source, arch, Nvrtc.version()));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot delete cached kernel: " + e);
        }
    }

    /** {@code <cache>/<file stem>-<arch>-<sha256 of source, arch, NVRTC version, options>.cubin}. */
    public Path cachePath(String fileName, String source, String arch, String nvrtcVersion) {
        String stem = fileName.endsWith(".cu") ? fileName.substring(0, fileName.length() - 3) : fileName;
        return cacheDir.resolve(stem + "-" + arch + "-" + cacheKey(source, arch, nvrtcVersion) + ".cubin");
    }

    static String cacheKey(String source, String arch, String nvrtcVersion) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(source.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(arch.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(("nvrtc " + nvrtcVersion).getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(String.join(" ", OPTIONS).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256", e);
        }
    }

    private void store(Path cached, byte[] cubin) {
        try {
            Files.createDirectories(cacheDir);
            Path tmp = Files.createTempFile(cacheDir, ".tmp-", ".cubin");
            try {
                Files.write(tmp, cubin);
                try {
                    Files.move(tmp, cached, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, cached, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot cache kernel in " + cached + ": " + e);
        }
    }

    /** NVRTC: {@code source} to a CUBIN for {@code arch}; a compilation error carries NVRTC's log. */
    public static byte[] compile(String fileName, String source, String arch) {
        int cc = Integer.parseInt(arch.substring(arch.indexOf('_') + 1).replaceAll("\\D", ""));
        boolean supported = false;
        for (int a : Nvrtc.supportedArchs()) {
            supported |= a == cc;
        }
        if (!supported) {
            throw new CudaException(CudaException.Library.NVRTC, "nvrtcGetSupportedArchs", NVRTC_ERROR_INVALID_OPTION,
                    "architecture not supported", "NVRTC " + Nvrtc.version() + " cannot compile for " + arch
                    + "; install an NVRTC that supports this GPU");
        }
        String[] options = new String[OPTIONS.size() + 1];
        options[0] = "--gpu-architecture=" + arch; // sm_XX, not compute_XX: a CUBIN, no PTX
        for (int i = 0; i < OPTIONS.size(); i++) {
            options[i + 1] = OPTIONS.get(i);
        }
        String context = fileName + " for " + arch + " with " + String.join(" ", options);

        _nvrtcProgram prog = new _nvrtcProgram();
        try (BytePointer src = new BytePointer(source, StandardCharsets.UTF_8);
             BytePointer name = new BytePointer(fileName, StandardCharsets.UTF_8)) {
            Nvrtc.check(nvrtcCreateProgram(prog, src, name, 0, (PointerPointer<?>) null, (PointerPointer<?>) null),
                    "nvrtcCreateProgram", fileName);
        }
        try {
            int rc;
            try (PointerPointer<BytePointer> opts = new PointerPointer<>(options)) {
                rc = nvrtcCompileProgram(prog, options.length, opts);
            }
            if (rc != NVRTC_SUCCESS) {
                throw new CudaException(CudaException.Library.NVRTC, "nvrtcCompileProgram", rc, Nvrtc.errorString(rc),
                        context + "\n" + log(prog));
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                Nvrtc.check(nvrtcGetCUBINSize(prog, size), "nvrtcGetCUBINSize", context);
                if (size.get() <= 0) {
                    throw new CudaException(CudaException.Library.NVRTC, "nvrtcGetCUBINSize", NVRTC_ERROR_INVALID_PROGRAM,
                            "no CUBIN produced", context);
                }
                byte[] cubin = new byte[Math.toIntExact(size.get())];
                Nvrtc.check(nvrtcGetCUBIN(prog, cubin), "nvrtcGetCUBIN", context);
                if (!looksLikeCubin(cubin)) {
                    throw new CudaException(CudaException.Library.NVRTC, "nvrtcGetCUBIN", NVRTC_ERROR_INVALID_PROGRAM,
                            "not an ELF CUBIN", context);
                }
                return cubin;
            }
        } finally {
            nvrtcDestroyProgram(prog);
        }
    }

    private static String log(_nvrtcProgram prog) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            if (nvrtcGetProgramLogSize(prog, size) != NVRTC_SUCCESS || size.get() <= 1) {
                return "(no log)";
            }
            byte[] log = new byte[Math.toIntExact(size.get())];
            if (nvrtcGetProgramLog(prog, log) != NVRTC_SUCCESS) {
                return "(log unavailable)";
            }
            int end = log.length;
            while (end > 0 && log[end - 1] == 0) {
                end--;
            }
            return new String(log, 0, end, StandardCharsets.UTF_8).strip();
        }
    }
}
