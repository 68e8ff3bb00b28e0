package dev.jresnet.cuda;

import dev.jresnet.image.RgbImage;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PrecisionReference;
import dev.jresnet.testing.TestImages;
import dev.jresnet.testing.TestNets;
import dev.jresnet.testing.Tolerances;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The pooled features of the CUDA engine (the plan's pooled-features buffer) against the CPU's, in every precision. */
@Tag("gpu")
class CudaFeaturesGpuTest {
    @BeforeEach
    void setUp() {
        GpuTests.assumeCudnn();
        GpuTests.assumeCublas();
        GpuTests.assumeNvrtc();
    }

    private static float[] flat(float[][] rows) {
        int w = rows[0].length;
        float[] out = new float[rows.length * w];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * w, w);
        }
        return out;
    }

    /**
     * fp32 against the CPU engine; tf32 and fp16 against the rounding-aware reference of the engine's own plan
     * ({@link GpuReference}): features within {@link Tolerances#network}, as the logits.
     */
    @ParameterizedTest
    @EnumSource(Precision.class)
    void featuresMatchTheCpuAndFeedTheLogits(Precision p) throws Exception {
        Tensor batch = TestNets.randomInput(3, 224, 11);
        List<RgbImage> images = List.of(TestImages.gradient(320, 240), TestImages.gradient(224, 300));
        try (ResNet cpu = ResNet.untrained(5, Device.cpu());
             ResNet gpu = ResNet.builder().seed(5).device(Device.cuda(0)).precision(p).batchBuckets(1, 4).build()) {
            CudaResNet engine = gpu.cudaEngine().orElseThrow();
            float[][] got = gpu.features(batch); // 3 images in bucket 4: eager, then graph on the second call
            float[][] again = gpu.features(batch);
            assertEquals(3, got.length);
            assertEquals(2048, got[0].length);
            assertArrayEquals(flat(got), flat(again), "graph replay gives the eager pass's features");
            Tensor crops = cpu.preprocess(images);
            float[] wantFeatures, wantCropFeatures;
            PrecisionReference.Result r = null;
            if (p == Precision.FP32) {
                wantFeatures = flat(cpu.features(batch));
                wantCropFeatures = flat(cpu.features(images));
            } else {
                r = GpuReference.of(engine, batch, 4);
                wantFeatures = r.features().data();
                wantCropFeatures = GpuReference.of(engine, crops, 4).features().data();
            }
            double err = TestNets.relL2(flat(got), wantFeatures);
            double channel = TestNets.worstChannel(flat(got), wantFeatures, 2048);
            System.out.printf("%s features: relative L2 error %.3e, worst channel %.3e%n", p, err, channel);
            assertTrue(err <= Tolerances.network(p), p + ": relative L2 error " + err);
            assertTrue(channel <= Tolerances.channel(p), p + ": worst channel " + channel);
            // the logits of the same pass still come out after a features call (the staging is shared)
            float[] logits = flat(gpu.logits(batch));
            double logitErr = r == null ? TestNets.relL2(logits, flat(cpu.logits(batch)))
                    : GpuReference.logitsError(engine, logits, r);
            assertTrue(logitErr <= Tolerances.network(p), p + ": logits after features, relative L2 error " + logitErr);
            // 8-bit crops preprocessed on the GPU: fp16 stores the CPU's normalised values rounded (GpuOpsGpuTest)
            double cropErr = TestNets.relL2(flat(gpu.features(images)), wantCropFeatures);
            assertTrue(cropErr <= Tolerances.network(p), p + ": features of 8-bit crops, relative L2 error " + cropErr);
        }
    }
}
