package dev.jresnet.resnet;

import dev.jresnet.cuda.InferencePrecision;

/**
 * Arithmetic of the CUDA engine (the CPU engine always computes in fp32).
 * <ul>
 *   <li>{@link #FP32}: exact fp32 (no TF32), agrees with the CPU reference to about 1e-6;</li>
 *   <li>{@link #TF32}: fp32 data, tensor cores round inputs to TF32 (about 1e-3 relative);</li>
 *   <li>{@link #FP16}: NHWC fp16 activations and weights, fp32 accumulation (about 1e-2 relative).</li>
 * </ul>
 */
public enum Precision {
    FP32(InferencePrecision.FP32),
    TF32(InferencePrecision.TF32),
    FP16(InferencePrecision.FP16);

    private final InferencePrecision cuda;

    Precision(InferencePrecision cuda) {
        this.cuda = cuda;
    }

    /** The CUDA engine's precision. */
    public InferencePrecision cuda() {
        return cuda;
    }

    /** "fp32", "tf32" or "fp16", case-insensitive. */
    public static Precision parse(String s) {
        for (Precision p : values()) {
            if (p.name().equalsIgnoreCase(s)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision \"" + s + "\" (expected fp32, tf32 or fp16)");
    }

    /** "fp32", "tf32", "fp16". */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
