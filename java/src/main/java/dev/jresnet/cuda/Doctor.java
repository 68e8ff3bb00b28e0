package dev.jresnet.cuda;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.Loader;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;

import static org.bytedeco.cuda.global.cudart.CUDART_VERSION;
import static org.bytedeco.cuda.global.cudnn.CUDNN_VERSION;

/**
 * Reports whether this machine can run the GPU engine, and if not, why and what to install: Java, JavaCPP
 * and preset versions; CUDA driver and runtime, cuDNN, cuBLAS and NVRTC versions; one line per required native
 * library (where it was loaded from, or the exact fix: {@link CudaLibraries}); every GPU with its memory and
 * compute capability; whether the kernels compile and load.
 * Never throws: every failure becomes a line of the report.
 */
public final class Doctor {
    private Doctor() {}

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        boolean usable = report(out);
        out.flush();
        System.exit(usable ? 0 : 1);
    }

    /** Prints the report; true when the GPU engine is usable here. */
    public static boolean report(PrintWriter out) {
        try {
            return reportUnchecked(out);
        } catch (RuntimeException | LinkageError e) {
            out.println("  doctor failed unexpectedly: " + e);
            out.println("usable: no");
            return false;
        } finally {
            out.flush();
        }
    }

    private static boolean reportUnchecked(PrintWriter out) {
        out.println("jresnet doctor");
        out.println("  Java: " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ", "
                + System.getProperty("java.vm.name") + ") on " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch"));
        out.println("  JavaCPP: " + version(null, null) + ", platform " + platform());
        out.println("  CUDA presets: org.bytedeco:cuda " + version("org.bytedeco", "cuda") + " (built for CUDA "
                + Cuda.versionString(CUDART_VERSION) + ", cuDNN " + Cudnn.versionString(CUDNN_VERSION) + ")");

        List<String> problems = new ArrayList<>();
        CudaAvailability.Status status = CudaAvailability.status();
        if (!status.usable()) {
            out.println("  CUDA: unusable: " + status.reason());
            if (CudaLibraries.fixFor(status.reason()) == null) { // else the library's own line has the fix
                out.println("  fix: " + NativeLibs.installHint(status.reason()));
            }
            printLibraries(out);
            out.println("usable: no (" + status.reason() + ")");
            return false;
        }

        out.println("  CUDA driver: " + Cuda.versionString(Cuda.driverVersion()) + ", runtime: "
                + Cuda.versionString(Cuda.runtimeVersion()));
        if (Cuda.runtimeVersion() > Cuda.driverVersion()) {
            out.println("    note: the runtime is newer than the driver (minor-version compatibility: no PTX JIT;"
                    + " jresnet loads CUBINs, which is fine)");
        }

        String cudnnError = NativeLibs.loadError(cudnn.class);
        if (cudnnError == null) {
            out.println("  cuDNN: " + Cudnn.version() + " (built against CUDA runtime "
                    + Cuda.versionString((int) cudnn.cudnnGetCudartVersion()) + ")");
        } else {
            out.println("  cuDNN: unusable: " + cudnnError);
            problems.add(cudnnError);
        }

        String cublasError = NativeLibs.loadError(cublas.class);
        if (cublasError == null) {
            out.println("  cuBLAS: " + Cublas.version());
        } else {
            out.println("  cuBLAS: unusable: " + cublasError);
            problems.add(cublasError);
        }

        String nvrtcError = NativeLibs.loadError(nvrtc.class);
        int[] archs = {};
        if (nvrtcError == null) {
            archs = Nvrtc.supportedArchs();
            out.println("  NVRTC: " + Nvrtc.version() + ", architectures: "
                    + Arrays.stream(archs).mapToObj(a -> "sm_" + a).collect(Collectors.joining(" ")));
        } else {
            out.println("  NVRTC: unusable: " + nvrtcError);
            problems.add(nvrtcError);
        }

        printLibraries(out);

        List<CudaDevice> devices = CudaDevice.all();
        for (CudaDevice d : devices) {
            int cc = d.computeCapability();
            boolean compilable = Arrays.stream(archs).anyMatch(a -> a == cc);
            out.println("  " + d + (nvrtcError != null ? "" : compilable ? ", kernels: " + d.arch()
                    : ", kernels: NVRTC cannot compile for " + d.arch()));
            if (nvrtcError == null && !compilable && d.ordinal() == 0) {
                problems.add("NVRTC " + Nvrtc.version() + " cannot compile for " + d.arch());
            }
        }

        if (problems.isEmpty()) {
            try (CudaContext ctx = CudaContext.open(0)) {
                out.println("  device 0 memory: " + ctx.memoryInfo());
                try (Kernels kernels = Kernels.load(ctx)) {
                    out.println("  kernels: compiled and loaded for " + kernels.arch() + " (cache "
                            + KernelCompiler.defaultCacheDir() + ")");
                }
                if (!convolutionSmokeTest(out, ctx)) {
                    problems.add("the convolution smoke test failed");
                }
            } catch (RuntimeException e) {
                out.println("  device 0: unusable: " + e.getMessage());
                problems.add(String.valueOf(e.getMessage()));
            }
        }

        if (!problems.isEmpty()) {
            for (String p : problems) {
                out.println("  fix: " + NativeLibs.installHint(p));
            }
            out.println("usable: no (" + String.join("; ", problems) + ")");
            return false;
        }
        out.println("usable: yes");
        return true;
    }

    /**
     * One fused cuDNN convolution (conv + bias + ReLU, fp32 with FMA math, the exact path) on device 0 against
     * the CPU reference on seeded random data: prints one line and returns false on a mismatch (relative L2
     * error above 1e-5) or a failure.
     */
    static boolean convolutionSmokeTest(PrintWriter out, CudaContext context) {
        try {
            Random rnd = new Random(42);
            Tensor x = randomTensor(rnd, 2, 8, 16, 16);
            Tensor w = randomTensor(rnd, 16, 8, 3, 3);
            Tensor b = randomTensor(rnd, 16);
            Tensor expected = Tensor.zeros(2, 16, 16, 16);
            CpuOps.conv2d(expected, x, w, b, 1, 1);
            CpuOps.relu(expected, expected);
            Tensor actual;
            try (GpuOps ops = new GpuOps(context, null, Precision.FP32,
                    new ConvAlgorithms(ConvAlgorithms.Search.HEURISTIC, 256L << 20));
                 GpuTensor gx = ops.upload(x, "smoke test input");
                 GpuTensor gw = ops.upload(w, "smoke test weight");
                 GpuTensor gb = ops.upload(b, "smoke test bias");
                 GpuTensor gy = GpuTensor.allocate("smoke test output", 2, 16, 16, 16)) {
                ops.conv2dBiasRelu(gy, gx, gw, gb, null, 1, 1, 1);
                actual = ops.download(gy);
            }
            double err = relativeL2(actual.data(), expected.data());
            boolean ok = err <= 1e-5;
            out.printf(java.util.Locale.ROOT, "  convolution smoke test: %s (fused conv+bias+ReLU fp32 [2,8,16,16] * "
                    + "[16,8,3,3] vs the CPU reference, relative L2 error %.2e)%n", ok ? "ok" : "MISMATCH", err);
            return ok;
        } catch (RuntimeException | LinkageError e) {
            out.println("  convolution smoke test: failed: " + e.getMessage());
            return false;
        }
    }

    private static Tensor randomTensor(Random rnd, int... dims) {
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) rnd.nextGaussian();
        }
        return t;
    }

    /** ||a - b|| / ||b|| in double (0 when both are zero). */
    public static double relativeL2(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + b.length);
        }
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    /** One line per required library: where it was loaded from, or found, or the fix for it. */
    private static void printLibraries(PrintWriter out) {
        out.println("  CUDA libraries:");
        for (String line : CudaLibraries.report()) {
            out.println("    " + line);
        }
    }

    private static String version(String group, String artifact) {
        try {
            String v = group == null ? Loader.getVersion() : Loader.getVersion(group, artifact);
            return v == null ? "unknown" : v;
        } catch (Exception | LinkageError e) {
            return "unknown (" + e + ")";
        }
    }

    private static String platform() {
        try {
            return Loader.getPlatform();
        } catch (RuntimeException | LinkageError e) {
            return "unknown";
        }
    }
}
