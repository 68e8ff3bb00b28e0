package dev.jresnet.resnet;

import dev.jresnet.dnnl.CpuEngines;
import dev.jresnet.cuda.CudaAvailability;

/**
 * Where a model runs. {@link #auto()} picks CUDA when a usable GPU exists and otherwise the CPU, and
 * {@link #description()} always says which and why: jresnet never falls back silently.
 */
public final class Device {
    public enum Kind { CPU, CUDA }

    private final Kind kind;
    private final int index;
    private final String reason;

    private Device(Kind kind, int index, String reason) {
        this.kind = kind;
        this.index = index;
        this.reason = reason;
    }

    public static Device cpu() {
        return new Device(Kind.CPU, 0, "requested");
    }

    public static Device cuda(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("CUDA device index must be >= 0, got " + index);
        }
        return new Device(Kind.CUDA, index, "requested");
    }

    /**
     * CUDA device 0 when the GPU engine can run (driver, a device, cuDNN, cuBLAS and NVRTC), else the CPU with
     * the reason it cannot.
     */
    public static Device auto() {
        CudaAvailability.Status s = CudaAvailability.backendStatus();
        if (s.usable()) {
            return new Device(Kind.CUDA, 0, "auto: " + s.reason());
        }
        return new Device(Kind.CPU, 0, "auto: CUDA unavailable: " + s.reason());
    }

    /** "cpu", "cuda" or "auto". */
    public static Device parse(String s) {
        return switch (s.toLowerCase()) {
            case "cpu" -> cpu();
            case "cuda", "gpu" -> cuda(0);
            case "auto" -> auto();
            default -> {
                if (s.toLowerCase().startsWith("cuda:")) {
                    try {
                        yield cuda(Integer.parseInt(s.substring(5)));
                    } catch (NumberFormatException e) {
                        // fall through to the error below
                    }
                }
                throw new IllegalArgumentException("unknown device \"" + s + "\" (expected auto, cpu, cuda or cuda:N)");
            }
        };
    }

    public Kind kind() {
        return kind;
    }

    public int index() {
        return index;
    }

    /**
     * For example {@code cpu (auto: CUDA unavailable: libcuda.so.1 not found; CPU engine oneDNN 3.11.0,
     * avx512_core_bf16 kernels, 2 OpenMP threads (auto: oneDNN loads; ...))}, or where oneDNN is absent {@code ...;
     * CPU kernel vector-512bit-8x48, direct convolution, 16-channel blocks, tile 4x7 ... (auto: oneDNN is not on the
     * class path ...))}: which CPU engine runs, and why.
     */
    public String description() {
        String extra = "";
        if (kind == Kind.CPU) {
            try {
                extra = "; " + CpuEngines.chosen().describe();
            } catch (IllegalStateException e) {
                extra = "; " + e.getMessage();
            }
        }
        return this + " (" + reason + extra + ")";
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + index;
    }
}
