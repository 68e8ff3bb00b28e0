package dev.jresnet.testing;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The rounding-aware ops against independent computations: naive double loops over operands rounded by hand, the
 * CPU reference ops for fp32.
 */
class PrecisionOpsTest {
    private final SplittableRandom r = new SplittableRandom(7);
    // a strided 3x3 convolution [2, 32, 9, 9] -> [2, 24, 5, 5], with bias and residual
    private final Tensor x = TestNets.random(r, 1, 2, 32, 9, 9);
    private final Tensor w = TestNets.random(r, 1 / Math.sqrt(32 * 9), 24, 32, 3, 3);
    private final Tensor b = TestNets.random(r, 0.5, 24);
    private final Tensor z = TestNets.random(r, 1, 2, 24, 5, 5);

    private static Tensor map(Tensor t, java.util.function.DoubleUnaryOperator f) {
        Tensor out = Tensor.zeros(t.shape());
        for (int i = 0; i < t.size(); i++) {
            out.data()[i] = (float) f.applyAsDouble(t.data()[i]);
        }
        return out;
    }

    private static boolean allHalf(Tensor t) {
        for (float v : t.data()) {
            if (GpuRounding.half(v) != v) {
                return false;
            }
        }
        return true;
    }

    /** relu(naive(x, w) + b + z) in double over the given operands, rounded once by {@code store}. */
    private Tensor fusedByHand(Tensor xs, Tensor ws, Tensor bs, Tensor zs, java.util.function.DoubleUnaryOperator store) {
        Tensor conv = SummationTest.naive(xs, ws, 2, 1, 1);
        Tensor out = Tensor.zeros(conv.shape());
        for (int i = 0; i < out.size(); i++) {
            double v = conv.data()[i] + (double) bs.data()[i / 25 % 24] + zs.data()[i];
            out.data()[i] = (float) store.applyAsDouble(Math.max(v, 0));
        }
        return out;
    }

    @Test
    void fp32IsTheReferenceOps() {
        PrecisionOps ops = PrecisionOps.of(Precision.FP32);
        Tensor want = Tensor.zeros(2, 24, 5, 5);
        CpuOps.conv2dBiasRelu(want, x, w, b, z, 2, 1, 1);
        for (boolean fused : new boolean[] {true, false}) {
            Tensor got = ops.conv2dBiasRelu(x, w, b, z, 2, 1, 1, fused, true);
            double err = TestNets.relL2(got.data(), want.data());
            assertTrue(err < 1e-6, "fused " + fused + ": " + err); // measured 3e-8: the adds in another order
        }
        Tensor plain = Tensor.zeros(2, 24, 5, 5);
        CpuOps.conv2d(plain, x, w, b, 2, 1);
        assertTrue(TestNets.relL2(ops.conv2d(x, w, b, 2, 1, 1, true).data(), plain.data()) < 1e-6);
        Tensor feats = TestNets.random(r, 1, 3, 64), fw = TestNets.random(r, 0.1, 10, 64), fb = TestNets.random(r, 1, 10);
        Tensor lin = Tensor.zeros(3, 10);
        CpuOps.linear(lin, feats, fw, fb);
        assertTrue(TestNets.relL2(ops.linear(feats, fw, fb).data(), lin.data()) < 1e-6);
        assertSame(x, ops.stored(x), "fp32 stores as it is");
    }

    @Test
    void fp16StoresEveryTensorAndRoundsTheFusedCallOnce() {
        PrecisionOps ops = PrecisionOps.of(Precision.FP16);
        Tensor got = ops.conv2dBiasRelu(x, w, b, z, 2, 1, 1, true, true);
        assertTrue(allHalf(got), "the output is stored in fp16");
        Tensor want = fusedByHand(GpuRounding.half(x), GpuRounding.half(w), GpuRounding.half(b), GpuRounding.half(z),
                v -> GpuRounding.half((float) v));
        double err = TestNets.relL2(got.data(), want.data());
        // measured 0 here: fp32 sums against double sums flip an fp16 rounding about once in 10^3 outputs
        assertTrue(err < 3e-5, "fp16 fused against the hand-rounded computation: " + err);
        double vsFp32 = TestNets.relL2(got.data(), fusedByHand(x, w, b, z, v -> v).data());
        assertTrue(vsFp32 > 1e-4 && vsFp32 < 1e-3, "fp16 is fp16, not fp32: " + vsFp32); // measured 3.2e-4

        Tensor unfused = ops.conv2dBiasRelu(x, w, b, z, 2, 1, 1, false, true);
        assertTrue(allHalf(unfused));
        Tensor byHand = SummationTest.naive(GpuRounding.half(x), GpuRounding.half(w), 2, 1, 1);
        for (int i = 0; i < byHand.size(); i++) {
            float y = GpuRounding.half(byHand.data()[i]);
            y = GpuRounding.half(y + GpuRounding.half(b.data()[i / 25 % 24]));
            y = GpuRounding.half(y + GpuRounding.half(z.data()[i]));
            byHand.data()[i] = Math.max(y, 0f);
        }
        assertTrue(TestNets.relL2(unfused.data(), byHand.data()) < 3e-5, "the fallback rounds after each step");
        double fusedVsUnfused = TestNets.relL2(unfused.data(), got.data());
        assertTrue(fusedVsUnfused > 1e-4, "two more roundings show: " + fusedVsUnfused); // measured 3.1e-4
        assertTrue(allHalf(ops.conv2d(x, w, b, 2, 1, 1, true)));
    }

    @Test
    void tf32RoundsTheOperandsOfProductsOnly() {
        PrecisionOps ops = PrecisionOps.of(Precision.TF32);
        Tensor got = ops.conv2dBiasRelu(x, w, b, z, 2, 1, 1, true, true);
        Tensor want = fusedByHand(map(x, v -> GpuRounding.tf32((float) v)), map(w, v -> GpuRounding.tf32((float) v)),
                b, z, v -> v);
        double err = TestNets.relL2(got.data(), want.data());
        assertTrue(err < 1e-6, "tf32 against the hand-rounded computation: " + err); // measured 5e-8
        double vsFp32 = TestNets.relL2(got.data(), fusedByHand(x, w, b, z, v -> v).data());
        assertTrue(vsFp32 > 5e-5 && vsFp32 < 1e-3, "operands rounded: " + vsFp32); // measured 2.2e-4
        Tensor fma = ops.conv2dBiasRelu(x, w, b, z, 2, 1, 1, true, false);
        assertTrue(TestNets.relL2(fma.data(), fusedByHand(x, w, b, z, v -> v).data()) < 1e-6,
                "FMA math does not round to TF32");
        Tensor truncated = new PrecisionOps(Precision.TF32, Summation.GEMM, GpuRounding.Tf32.TRUNCATE)
                .conv2dBiasRelu(x, w, b, z, 2, 1, 1, true, true);
        assertTrue(TestNets.relL2(truncated.data(), got.data()) > 1e-4, "truncation is another rounding");
        assertSame(x, ops.stored(x), "tf32 stores fp32");

        Tensor feats = TestNets.random(r, 1, 3, 64), fw = TestNets.random(r, 0.1, 10, 64), fb = TestNets.random(r, 1, 10);
        Tensor lin = Tensor.zeros(3, 10);
        CpuOps.linear(lin, map(feats, v -> GpuRounding.tf32((float) v)), map(fw, v -> GpuRounding.tf32((float) v)), fb);
        assertTrue(TestNets.relL2(ops.linear(feats, fw, fb).data(), lin.data()) < 1e-6, "FAST_TF32 classifier");
    }

    @Test
    void theHeadPoolsStoredActivationsAndRunsTheClassifierInFp32() {
        Tensor act = TestNets.random(r, 2, 2, 64, 7, 7), fw = TestNets.random(r, 0.1, 10, 64);
        Tensor fb = TestNets.random(r, 1, 10);
        PrecisionOps ops = PrecisionOps.of(Precision.FP16);
        Tensor pooled = Tensor.zeros(2, 64);
        CpuOps.globalAvgPool(pooled, GpuRounding.half(act));
        assertArrayEquals(pooled.data(), ops.globalAvgPool(act).data(), "the mean of the fp16 activations, in fp32");
        Tensor lin = Tensor.zeros(2, 10);
        CpuOps.linear(lin, pooled, fw, fb);
        assertTrue(TestNets.relL2(ops.linear(pooled, fw, fb).data(), lin.data()) < 1e-6, "an fp32 classifier");
        Tensor max = Tensor.zeros(2, 64, 4, 4);
        CpuOps.maxPool(max, act, 3, 2, 1);
        assertArrayEquals(GpuRounding.half(max).data(), ops.maxPool(act, 3, 2, 1).data(), "max of fp16 values");
    }
}
