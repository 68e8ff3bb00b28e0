package dev.jresnet.cuda;

import dev.jresnet.image.RgbImage;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
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

    @ParameterizedTest
    @EnumSource(Precision.class)
    void featuresMatchTheCpuAndFeedTheLogits(Precision p) throws Exception {
        Tensor batch = TestNets.randomInput(3, 224, 11);
        List<RgbImage> images = List.of(TestImages.gradient(320, 240), TestImages.gradient(224, 300));
        try (ResNet cpu = ResNet.untrained(5, Device.cpu());
             ResNet gpu = ResNet.builder().seed(5).device(Device.cuda(0)).precision(p).batchBuckets(1, 4).build()) {
            float[][] expected = cpu.features(batch);
            float[][] got = gpu.features(batch); // 3 images in bucket 4: eager, then graph on the second call
            float[][] again = gpu.features(batch);
            assertEquals(3, got.length);
            assertEquals(2048, got[0].length);
            double err = TestNets.relL2(flat(got), flat(expected));
            System.out.printf("%s features: relative L2 error %.3e%n", p, err);
            assertTrue(err <= Tolerances.network(p), p + ": relative L2 error " + err);
            assertArrayEquals(flat(got), flat(again), "graph replay gives the eager pass's features");
            // the logits of the same pass still come out after a features call (the staging is shared)
            double logitErr = TestNets.relL2(flat(gpu.logits(batch)), flat(cpu.logits(batch)));
            assertTrue(logitErr <= Tolerances.network(p), p + ": logits after features, relative L2 error " + logitErr);
            double cropErr = TestNets.relL2(flat(gpu.features(images)), flat(cpu.features(images)));
            assertTrue(cropErr <= Tolerances.network(p), p + ": features of 8-bit crops, relative L2 error " + cropErr);
        }
    }
}
