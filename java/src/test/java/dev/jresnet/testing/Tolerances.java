package dev.jresnet.testing;

import dev.jresnet.tensor.Precision;

/**
 * The relative L2 errors a GPU result may have against an exact fp32 reference (the CPU reference or PyTorch fp32):
 * one table for every GPU test, and the same numbers as {@code bench/peers/torch_peer.py compare}.
 *
 * <p>fp32 is exact: FMA math and GEMM or direct algorithms only, so only the order of the sums differs. TF32 rounds
 * both operands of every product to a 10-bit mantissa, fp16's (unit roundoff 2^-11 = 4.9e-4), and fp16 also rounds
 * every stored activation. One op lands within a few unit roundoffs; a whole network adds the errors of about 50
 * layers, and TF32's operand rounding is fp16's, so a network gets fp16's limit in both.
 */
public final class Tolerances {
    private Tolerances() {}

    /** One op (a convolution, a GEMM): fp32 1e-5, tf32 3e-3, fp16 1e-2. */
    public static double op(Precision p) {
        return switch (p) {
            case FP32 -> 1e-5;
            case TF32 -> 3e-3;
            case FP16 -> 1e-2;
        };
    }

    /** A whole network's logits: fp32 1e-5, tf32 and fp16 1e-2. */
    public static double network(Precision p) {
        return p == Precision.FP32 ? 1e-5 : 1e-2;
    }
}
