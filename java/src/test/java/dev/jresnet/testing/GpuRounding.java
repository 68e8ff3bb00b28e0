package dev.jresnet.testing;

import dev.jresnet.tensor.Half;
import dev.jresnet.tensor.Tensor;

/**
 * The roundings of the GPU precisions, on fp32 values: to fp16 (what the fp16 precision stores) and to TF32 (what
 * tensor cores multiply in the tf32 precision). Both return the rounded value as a float, which holds it exactly.
 *
 * <p>fp16: round to nearest even, through {@link Half}, the same conversion the engine uploads with
 * ({@code HalfLayouts}).
 *
 * <p>TF32 keeps fp32's exponent and 10 of its 23 mantissa bits. {@link Tf32#NEAREST} rounds to nearest with ties
 * away from zero (add half a TF32 ulp to the bits, drop the low 13): PTX's {@code cvt.rna.tf32.f32}, and CUTLASS's
 * rounding for fp32 operands of TF32 MMAs ({@code PreferredRoundingMode<tfloat32_t, float>} is
 * {@code round_half_ulp_truncate}). That cuBLAS rounds rather than truncates is observed, not documented: under TF32
 * an RTX 3090 multiplies 1024.5 by 1 into 1025 (pytorch/pytorch#53635; truncation and ties-to-even give 1024), and
 * operands rounded with {@code cvt.rna.tf32.f32} reproduce PyTorch's cuBLAS TF32 matmul exactly
 * (triton-lang/triton#4574). The MMA instruction itself reads only the top 10 mantissa bits (PyTorch's numerical
 * accuracy notes), i.e. truncates an operand nobody rounded: {@link Tf32#TRUNCATE}, kept to tell the two apart (a
 * truncating GPU would fail the tf32 tests by 20x, and their message says so; see {@link Tolerances}).
 */
public final class GpuRounding {
    private GpuRounding() {}

    /** How fp32 operands become TF32. */
    public enum Tf32 {
        /** Round to nearest, ties away from zero (cuBLAS, CUTLASS, {@code cvt.rna}). */
        NEAREST,
        /** Drop the low 13 mantissa bits (round toward zero). */
        TRUNCATE
    }

    /** {@code v} rounded to fp16 (nearest even; overflow to infinity), as a float. */
    public static float half(float v) {
        return Half.f16ToFloat(Half.floatToF16(v));
    }

    /** {@code v} rounded to TF32 ({@link Tf32#NEAREST}), as a float. */
    public static float tf32(float v) {
        return tf32(v, Tf32.NEAREST);
    }

    /** {@code v} rounded to TF32 as {@code mode} says; infinities and NaN unchanged. */
    public static float tf32(float v, Tf32 mode) {
        int bits = Float.floatToRawIntBits(v);
        if ((bits & 0x7f800000) == 0x7f800000) {
            return v;
        }
        if (mode == Tf32.NEAREST) {
            bits += 0x1000; // half a TF32 ulp: a carry into the exponent is the correct rounding up
        }
        return Float.intBitsToFloat(bits & 0xffffe000);
    }

    /** A new array: every value of {@code v} rounded to fp16. */
    public static float[] half(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = half(v[i]);
        }
        return out;
    }

    /** A new array: every value of {@code v} rounded to TF32 as {@code mode} says. */
    public static float[] tf32(float[] v, Tf32 mode) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = tf32(v[i], mode);
        }
        return out;
    }

    /** A new tensor of {@code t}'s shape with every value rounded to fp16. */
    public static Tensor half(Tensor t) {
        return new Tensor(t.shape(), half(t.data()));
    }
}
