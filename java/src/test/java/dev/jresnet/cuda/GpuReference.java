package dev.jresnet.cuda;

import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PrecisionOps;
import dev.jresnet.testing.PrecisionReference;
import dev.jresnet.testing.TestNets;
import dev.jresnet.testing.Tolerances;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What a CUDA engine's reduced-precision pass is judged against: {@link PrecisionReference} on the engine's own plan,
 * rounding each convolution as the engine's context reports it ran (fused or not, tensor cores or FMA math).
 */
final class GpuReference {
    private GpuReference() {}

    /** What the context of {@code m} decided for the convolutions of bucket {@code bucket}. */
    static PrecisionReference.Layers layers(CudaResNet m, int bucket) {
        return m.withContext(c -> PrecisionReference.Layers.of(c.algorithms(bucket), c.unfusedLayers()));
    }

    /** The reference pass (features and logits) of x [N, 3, H, W] for what {@code m} ran at {@code bucket}. */
    static PrecisionReference.Result of(CudaResNet m, Tensor x, int bucket) {
        return PrecisionReference.run(m.plan(), x, PrecisionOps.of(m.precision()), layers(m, bucket));
    }

    /**
     * The relative L2 error of {@code logits} to the reference's; under tf32 the smaller of that and the error to
     * the fp32 classifier of the reference's features, since cuBLAS may or may not have used tensor cores for the
     * classifier and does not say ({@link PrecisionReference#classifier}).
     */
    static double logitsError(CudaResNet m, float[] logits, PrecisionReference.Result want) {
        double err = TestNets.relL2(logits, want.logits().data());
        if (m.precision() != Precision.TF32) {
            return err;
        }
        double fp32Head = TestNets.relL2(logits, PrecisionReference.classifier(m.plan(), want.features(),
                PrecisionOps.of(Precision.FP32)).data());
        System.out.printf("TF32: logits' relative L2 error with a TF32 classifier %.3e, with an fp32 one %.3e%n", err,
                fp32Head);
        return Math.min(err, fp32Head);
    }

    /**
     * Asserts that what {@code m} computed from x at {@code bucket} is near the reference {@code want}: the logits
     * {@code logits} within {@link Tolerances#network}, and the pooled features {@code features} (may be null) within it
     * too and, channel by channel, within {@link Tolerances#channel}. A failure also says how far the logits lie from
     * the precision's other rounding.
     */
    static void assertClose(CudaResNet m, Tensor x, int bucket, float[] logits, float[] features,
                            PrecisionReference.Result want, String what) {
        Precision p = m.precision();
        double err = logitsError(m, logits, want);
        System.out.printf("%s %s: logits' relative L2 error to the %s reference %.3e (tolerance %.0e)%n", p, what,
                p.id(), err, Tolerances.network(p));
        if (err > Tolerances.network(p)) {
            String other = PrecisionReference.otherRoundings(m.plan(), x, p, layers(m, bucket), logits);
            fail(p + " " + what + ": relative L2 error of the logits " + err + " > " + Tolerances.network(p) + other
                    + "; layers " + layers(m, bucket));
        }
        if (features != null) {
            double f = TestNets.relL2(features, want.features().data());
            double c = TestNets.worstChannel(features, want.features().data(), want.features().dim(1));
            System.out.printf("%s %s: features' relative L2 error %.3e, worst channel %.3e (tolerance %.0e)%n", p, what,
                    f, c, Tolerances.channel(p));
            assertTrue(f <= Tolerances.network(p), p + " " + what + ": relative L2 error of the features " + f);
            assertTrue(c <= Tolerances.channel(p), p + " " + what + ": worst channel of the features " + c);
        }
    }
}
