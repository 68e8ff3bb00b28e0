package dev.jresnet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.cuda.CudaAvailability;
import dev.jresnet.tensor.Precision;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU kernel lab and the GPU whole-network rows on a real GPU (tagged "gpu": run by bench/gpu-check.sh). They
 * skip where CUDA is unusable, unless -Djresnet.requireGpu=true, where they fail.
 */
@Tag("gpu")
class GpuLabGpuTest {
    static void assumeGpu() {
        CudaAvailability.Status s = CudaAvailability.backendStatus();
        if (!s.usable()) {
            if (Boolean.getBoolean("jresnet.requireGpu")) {
                Assertions.fail("no usable GPU: " + s.reason() + " (and -Djresnet.requireGpu=true)");
            }
            Assumptions.abort("no usable GPU: " + s.reason());
        }
    }

    @Test
    void everyAlgorithmOnASmallShapeInFp32AndFp16() throws Exception {
        assumeGpu();
        List<ConvShape> shapes = List.of(new ConvShape(16, 32, 3, 1, 1, 1, 14, 14, 1, "test.3x3"),
                new ConvShape(32, 64, 1, 2, 0, 1, 14, 14, 1, "test.1x1s2"));
        try (ConvForwardLab lab = ConvForwardLab.open(0);
             CudaConvBackend fp32 = new CudaConvBackend(lab, Precision.FP32);
             CudaConvBackend fp16 = new CudaConvBackend(lab, Precision.FP16)) {
            List<Results.LayerResult> rows = LayerLab.runAlone(List.of(fp32, fp16), shapes, 2, 0.001, 0.005, 5,
                    m -> {});
            assertEquals(2 * 2 * ConvForwardLab.ALGORITHMS, rows.size());
            for (String p : new String[] {"fp32", "fp16"}) {
                for (ConvShape s : shapes) {
                    List<Results.LayerResult> r = rows.stream().filter(x -> x.precision().equals(p) && x.shape() == s)
                            .toList();
                    List<Results.LayerResult> picks = r.stream().filter(Results.LayerResult::inUse).toList();
                    assertEquals(1, picks.size(), p + " " + s.label() + ": one pick: " + r);
                    assertEquals(Results.LayerStatus.VALID, picks.get(0).status(), "the engine's pick is valid: "
                            + picks.get(0));
                    assertTrue(picks.get(0).latency().median() > 0 && picks.get(0).workspaceBytes() >= 0);
                }
            }
            Results.LayerResult gemm = rows.stream().filter(x -> x.precision().equals("fp32")
                    && x.kernel().equals("IMPLICIT_GEMM")).findFirst().orElseThrow();
            assertEquals(Results.LayerStatus.VALID, gemm.status(), gemm.toString());
            assertTrue(gemm.maxRelError() <= 1e-5, gemm.toString());
            // FFT does not apply to a strided convolution.
            Results.LayerResult fft = rows.stream().filter(x -> x.shape().stride() == 2 && x.kernel().equals("FFT")
                    && x.precision().equals("fp32")).findFirst().orElseThrow();
            assertEquals(Results.LayerStatus.UNSUPPORTED, fft.status(), fft.toString());
        }
    }

    @Test
    void wholeNetworkRowOnCudaWithPeakShare() throws Exception {
        assumeGpu();
        OptionValidationTest.Run r = OptionValidationTest.bench("--device", "cuda", "--precision", "fp16", "--batch",
                "2", "--seconds", "0.3", "--warmup", "0.2", "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode root = new ObjectMapper().readTree(r.out());
        assertEquals("fp16", root.path("jresnet").path("precision").asText());
        assertTrue(root.path("jresnet").path("device_detail").asText().contains("CUDA graphs"),
                root.path("jresnet").toString());
        JsonNode e = root.path("results").get(0).path("engines").get(0);
        assertTrue(e.path("images_per_s").asDouble() > 0, e.toString());
        String gpu = root.path("jresnet").path("device_detail").asText();
        if (PeakFlops.gflops(gpu, "fp16").isPresent()) {
            assertTrue(e.path("peak_share").asDouble() > 0 && e.path("peak_share").asDouble() < 1, e.toString());
        }
    }
}
