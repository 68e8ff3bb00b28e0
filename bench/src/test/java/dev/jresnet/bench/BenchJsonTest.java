package dev.jresnet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The --json document of a tiny real run against ONNX Runtime: its shape, not its speed. */
class BenchJsonTest {
    @Test
    void tinyRunAgainstOnnxRuntimeGivesOneCompleteDocument(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("report");
        OptionValidationTest.Run r = OptionValidationTest.bench("--batch", "1", "--seconds", "0.5", "--warmup", "0.2",
                "--compare", "onnxruntime", "--json", "--report", report.toString());
        assertEquals(0, r.status(), r.err());
        JsonNode root = new ObjectMapper().readTree(r.out()); // throws unless stdout is exactly one JSON document

        assertTrue(root.path("command").asText().startsWith("jresnet bench --batch 1"), root.path("command").asText());
        assertFalse(root.path("date").asText().isEmpty());
        JsonNode m = root.path("machine");
        assertEquals(Runtime.getRuntime().availableProcessors(), m.path("cores").asInt());
        for (String k : new String[] {"cpu_model", "os", "java", "load_average"}) {
            assertFalse(m.path(k).asText().isEmpty(), "machine." + k);
        }
        JsonNode j = root.path("jresnet");
        assertEquals("cpu", j.path("device").asText());
        assertEquals("fp32", j.path("precision").asText());
        assertEquals(dev.jresnet.cpu.Gemm.kernelName(), j.path("cpu_kernel").asText());
        assertTrue(j.path("threads").asInt() >= 1);
        assertTrue(root.path("flops_per_image").asLong() > 8_000_000_000L);
        assertFalse(root.path("settings").path("percentile_method").asText().isEmpty());

        JsonNode peer = root.path("peers").get(0);
        assertEquals("onnxruntime", peer.path("name").asText());
        assertTrue(peer.path("available").asBoolean(), peer.toString());
        assertEquals(j.path("threads").asInt(), peer.path("threads").asInt());

        JsonNode batch = root.path("results").get(0);
        assertEquals(1, batch.path("batch").asInt());
        assertEquals(2, batch.path("engines").size());
        for (JsonNode e : batch.path("engines")) {
            int runs = e.path("runs").asInt();
            assertTrue(runs >= RoundRobin.MIN_TURNS, e.toString());
            JsonNode l = e.path("latency_ms");
            assertEquals(runs, l.path("samples").size());
            double min = l.path("min").asDouble(), med = l.path("median").asDouble(), p99 = l.path("p99").asDouble();
            assertTrue(min > 0 && min <= med && med <= l.path("p90").asDouble() && l.path("p90").asDouble() <= p99
                    && p99 <= l.path("max").asDouble(), l.toString());
            assertTrue(l.path("stddev").isNumber(), "stddev is a number with >= 2 runs");
            assertEquals(1000 / l.path("mean").asDouble(), e.path("images_per_s").asDouble(), 1e-9);
            assertTrue(e.path("gflops").asDouble() > 0);
            assertTrue(e.path("peak_share").isNull(), "no CPU peak is claimed");
        }
        assertEquals("jresnet", batch.path("engines").get(0).path("engine").asText());
        assertEquals("onnxruntime", batch.path("engines").get(1).path("engine").asText());
        JsonNode c = batch.path("comparisons").get(0);
        assertEquals("onnxruntime", c.path("peer").asText());
        double ratio = batch.path("engines").get(0).path("images_per_s").asDouble()
                / batch.path("engines").get(1).path("images_per_s").asDouble();
        assertEquals(ratio, c.path("ratio").asDouble(), 1e-9 * ratio);
        assertTrue(c.path("rel_l2").asDouble() <= 1e-5, "jresnet vs ONNX Runtime logits: " + c);

        // The same run's report.
        assertTrue(Files.size(report.resolve(Report.SUMMARY)) > 0);
        assertTrue(Files.size(report.resolve(Report.THROUGHPUT)) > 0);
        assertTrue(Files.size(report.resolve(Report.LATENCY)) > 0);
    }
}
