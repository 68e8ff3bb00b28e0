package dev.jresnet.tensor;

import java.util.Locale;

/**
 * The arithmetic a GPU engine computes in (the CPU engine always computes in fp32).
 * <ul>
 *   <li>{@link #FP32}: exact fp32 (no TF32 anywhere), agrees with the CPU reference to about 1e-6;</li>
 *   <li>{@link #TF32}: fp32 data, tensor cores round convolution and GEMM inputs to TF32 (resnet50's logits about
 *       6e-4 relative L2 from fp32, simulated on the CPU);</li>
 *   <li>{@link #FP16}: fp16 activations and weights (NHWC), fp32 accumulation (about 5e-4, simulated).</li>
 * </ul>
 */
public enum Precision {
    FP32,
    TF32,
    FP16;

    /** "fp32", "tf32" or "fp16", case-insensitive. */
    public static Precision parse(String s) {
        for (Precision p : values()) {
            if (p.name().equalsIgnoreCase(s == null ? "" : s.strip())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision \"" + s + "\" (expected fp32, tf32 or fp16)");
    }

    /** "fp32", "tf32", "fp16". */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** True when no reduced-precision arithmetic is allowed. */
    public boolean exact() {
        return this == FP32;
    }
}
