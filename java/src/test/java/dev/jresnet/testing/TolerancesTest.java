package dev.jresnet.testing;

import dev.jresnet.cuda.NetworkPlan;
import dev.jresnet.graph.Network;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The GPU tolerances tell right from wrong without a GPU: a stand-in for the GPU (the reference summed in another
 * order, {@link Summation#PLAIN_GEMM}; {@link PrecisionNoise} finds {@link Summation#TENSOR_CORE}'s the same size) is
 * within them, and the same stand-in with a planted fault, or rounding TF32 operands the other way, is outside them.
 * On resnet50 at 128 x 128, batch 1: the GPU tests run 224 x 224, where the noise is smaller (the last stage pools 49
 * pixels rather than 16), so this is the harder check.
 */
class TolerancesTest {
    private static final int SIZE = 128;
    private static final Network NET = TestNets.randomBnGraph(2024);
    private static final Tensor X = TestNets.randomInput(1, SIZE, 9);
    private static final NetworkPlan PLAN = NetworkPlan.of(NET, SIZE, SIZE);

    private static final java.util.Map<Precision, PrecisionReference.Result> REFERENCE =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static PrecisionReference.Result reference(Precision p) {
        return REFERENCE.computeIfAbsent(p, q -> PrecisionReference.run(PLAN, X, PrecisionOps.of(q)));
    }

    private static PrecisionOps gpuLike(Precision p) {
        return new PrecisionOps(p, Summation.PLAIN_GEMM, GpuRounding.Tf32.NEAREST);
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP16", "TF32"})
    void plantedFaultsFailTheNetworkToleranceAndRoundingPasses(Precision p) {
        PrecisionReference.Result ref = reference(p);
        PrecisionReference.Result gpu = PrecisionReference.run(PLAN, X, gpuLike(p));
        PlantedFaults.Fault fault = PlantedFaults.of(p);
        PrecisionReference.Result planted = PrecisionReference.run(NetworkPlan.of(fault.plant(NET), SIZE, SIZE), X,
                gpuLike(p));
        double ok = TestNets.relL2(gpu.logits().data(), ref.logits().data());
        double okFeatures = TestNets.relL2(gpu.features().data(), ref.features().data());
        double okChannel = channel(gpu, ref);
        double bad = TestNets.relL2(planted.logits().data(), ref.logits().data());
        double badChannel = channel(planted, ref);
        System.out.printf("%s at %d: GPU-like summation %.2e (features %.2e, worst channel %.2e), planted %s %.2e "
                        + "(worst channel %.2e); tolerances %.0e, %.0e%n", p, SIZE, ok, okFeatures, okChannel, fault, bad,
                badChannel, Tolerances.network(p), Tolerances.channel(p));
        // measured (fp16 / tf32): logits 3.5e-4 / 4.0e-4, features 3.5e-4 / 2.8e-4, channel 1.7e-3 / 1.6e-3
        assertTrue(ok <= Tolerances.network(p), p + ": another summation is within the tolerance: " + ok);
        assertTrue(okFeatures <= Tolerances.network(p), p + ": features too: " + okFeatures);
        assertTrue(okChannel <= Tolerances.channel(p), p + ": and each channel: " + okChannel);
        // measured: logits 6.1e-3 / 4.7e-3, channel 3.6e-2 / 1.9e-1 (under the old 1e-2 against exact fp32)
        assertTrue(bad > Tolerances.network(p), p + ": the planted fault (" + fault + ") is caught: " + bad);
        assertTrue(badChannel > Tolerances.channel(p), p + ": by the channel check too: " + badChannel);
    }

    private static double channel(PrecisionReference.Result got, PrecisionReference.Result want) {
        return TestNets.worstChannel(got.features().data(), want.features().data(), want.features().dim(1));
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP16", "TF32"})
    void fp16EpilogueAndTf32TruncationAreToldApart(Precision p) {
        PrecisionReference.Result ref = reference(p);
        if (p == Precision.TF32) {
            // if the GPU truncated operands to TF32, the network test would fail, and say so (otherRoundings)
            float[] truncated = PrecisionReference.run(PLAN, X,
                    new PrecisionOps(p, Summation.GEMM, GpuRounding.Tf32.TRUNCATE)).logits().data();
            double err = TestNets.relL2(truncated, ref.logits().data());
            assertTrue(err > 5 * Tolerances.network(p), "truncated TF32 operands: " + err); // measured 2.3e-2
            String why = PrecisionReference.otherRoundings(PLAN, X, p, PrecisionReference.Layers.ALL_FUSED, truncated);
            assertTrue(why.contains("TF32 operands truncated: 0.000e+00"), why);
        } else {
            String why = PrecisionReference.otherRoundings(PLAN, X, p, PrecisionReference.Layers.ALL_FUSED,
                    ref.logits().data());
            assertTrue(why.contains("every convolution unfused"), why);
        }
    }

    /**
     * Per op: another summation is within {@link Tolerances#op}, one output channel of 64 scaled by 1.01 is not,
     * nor is fp16's other epilogue, nor tf32 truncation (the shapes of {@code GpuOpsGpuTest}'s 3x3 convolution).
     */
    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP16", "TF32"})
    void opToleranceAdmitsSummationsOnly(Precision p) {
        SplittableRandom r = new SplittableRandom(1);
        Tensor x = TestNets.random(r, 1, 3, 64, 14, 14);
        Tensor w = TestNets.random(r, 1 / Math.sqrt(64 * 9), 64, 64, 3, 3);
        Tensor b = TestNets.random(r, 0.5, 64);
        Tensor want = PrecisionOps.of(p).conv2dBiasRelu(x, w, b, null, 1, 1, 1, true, true);
        PrecisionOps tensorCores = new PrecisionOps(p, Summation.TENSOR_CORE, GpuRounding.Tf32.NEAREST);
        Tensor gpu = tensorCores.conv2dBiasRelu(x, w, b, null, 1, 1, 1, true, true);
        double ok = TestNets.relL2(gpu.data(), want.data());
        System.out.printf("%s op: tensor-core summation %.2e%n", p, ok);
        assertTrue(ok <= Tolerances.op(p), p + ": tensor-core summation " + ok); // measured 2.3e-5 / 1.2e-6
        Tensor scaled = w.copy();
        for (int i = 0; i < 64 * 9; i++) {
            scaled.data()[i] *= 1.01f;    // output channel 0
        }
        double fault = TestNets.relL2(tensorCores.conv2dBiasRelu(x, scaled, b, null, 1, 1, 1, true, true).data(),
                want.data());
        assertTrue(fault > Tolerances.op(p), p + ": one channel of 64 scaled by 1.01: " + fault); // about 1.2e-3
        Tensor other = p == Precision.FP16
                ? PrecisionOps.of(p).conv2dBiasRelu(x, w, b, null, 1, 1, 1, false, true)
                : new PrecisionOps(p, Summation.GEMM, GpuRounding.Tf32.TRUNCATE).conv2dBiasRelu(x, w, b, null, 1, 1,
                1, true, true);
        double otherErr = TestNets.relL2(other.data(), want.data());
        assertTrue(otherErr > Tolerances.op(p), p + ": the other rounding: " + otherErr);
    }
}
