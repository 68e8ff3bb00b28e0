package dev.jresnet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.CpuInference;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ONNX Runtime's time per layer beside the engine's: its profile read back and matched to the steps. */
class PeerLayersTest {
    @Test
    void nodeNamesGiveTheStepsKeys() {
        assertEquals("layer1.0.bn1", PeerLayers.key("layer1.0.bn1.relu_nchwc"));
        assertEquals("layer1.0.bn3", PeerLayers.key("layer1.0.bn3_nchwc"));
        assertEquals("layer1.0.downsample.1", PeerLayers.key("layer1.0.downsample.1_nchwc"));
        assertEquals("bn1", PeerLayers.key("bn1.relu_nchwc"));
        assertEquals("logits", PeerLayers.key("logits/Gemm"));
        assertEquals("maxpool", PeerLayers.key("maxpool_nchwc"));
        assertEquals("layer2.0.bn2", PeerLayers.key("layer2.0.bn2.relu/Relu"));
        assertEquals("ReorderOutput", PeerLayers.key("ReorderOutput"));
    }

    /** Only the last runs count; a node that matches no step is "other"; an unfused ReLU adds to its step. */
    @Test
    void theLastRunsNodesAreMatchedToTheSteps(@TempDir Path tmp) throws IOException {
        StringBuilder json = new StringBuilder("[");
        long ts = 1000;
        for (int run = 0; run < 3; run++) {   // run 0 is a warm-up run, not counted
            long start = ts;
            String[][] nodes = {{"bn1.relu_nchwc", "100"}, {"layer1.0.bn1_nchwc", "200"},
                    {"layer1.0.bn1.relu", "10"}, {"ReorderOutput", "30"}, {"logits/Gemm", "50"}};
            for (String[] n : nodes) {
                long dur = Long.parseLong(n[1]) * (run + 1);
                json.append(String.format("{\"cat\":\"Node\",\"name\":\"%s_kernel_time\",\"ts\":%d,\"dur\":%d,"
                        + "\"args\":{\"op_name\":\"X\"}},", n[0], ts + 1, dur));
                json.append(String.format("{\"cat\":\"Node\",\"name\":\"%s_fence_before\",\"ts\":%d,\"dur\":0},",
                        n[0], ts + 1));
                ts += dur + 2;
            }
            json.append(String.format("{\"cat\":\"Session\",\"name\":\"model_run\",\"ts\":%d,\"dur\":%d},", start,
                    ts - start + 1));
            ts += 100;
        }
        json.setLength(json.length() - 1);
        Path file = Files.writeString(tmp.resolve("prof.json"), json.append("]").toString());

        Map<String, List<Double>> nodes = PeerLayers.nodeSeconds(file, 2);
        assertEquals(List.of(200e-6, 300e-6), nodes.get("bn1.relu_nchwc"), "runs 1 and 2, in seconds");
        assertEquals(5, nodes.size(), "fences are not kernels");
        Map<Integer, String> keys = new LinkedHashMap<>();
        keys.put(0, "bn1");
        keys.put(2, "layer1.0.bn1");
        keys.put(55, "logits");
        keys.put(1, "maxpool");            // no node of the peer's: no time
        Results.PeerProfile p = PeerLayers.match(nodes, keys, "onnxruntime", "detail", 2,
                Statistics.of(1e-3, 2e-3), 2);
        assertEquals(3, p.steps().size());
        assertEquals(250e-6, p.steps().get(0).mean(), 1e-12);
        assertEquals(((400 + 20) + (600 + 30)) / 2.0 * 1e-6, p.steps().get(2).mean(), 1e-12, "conv + its ReLU");
        assertEquals(75e-6, p.unmatchedSeconds(), 1e-12, "ReorderOutput per run");
        assertFalse(p.steps().containsKey(1));
        assertEquals(5, p.nodes());

        Path notJson = Files.writeString(tmp.resolve("bad.json"), "{\"truncated\": [");
        IOException e = assertThrows(IOException.class, () -> PeerLayers.nodeSeconds(notJson, 1));
        assertTrue(e.getMessage().startsWith("ONNX Runtime's profile " + notJson + " is not JSON"), e.getMessage());
        Path object = Files.writeString(tmp.resolve("object.json"), "{}");
        e = assertThrows(IOException.class, () -> PeerLayers.nodeSeconds(object, 1));
        assertTrue(e.getMessage().endsWith("expected an array of trace events"), e.getMessage());
    }

    /** The real thing on resnet18: every step of the engine gets ONNX Runtime's time, in the tables and the JSON. */
    @Test
    void onnxRuntimeBesideTheEngineOnEveryStep(@TempDir Path tmp) throws Exception {
        Tensor x = Tensor.zeros(1, 3, 64, 64);
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int i = 0; i < x.data().length; i++) {
            x.data()[i] = (float) r.nextGaussian();
        }
        Results.Profile p;
        try (ResNet model = ResNet.builder().architecture(Architecture.of("resnet18")).seed(0).device(Device.cpu())
                .build();
             OnnxRuntimePeer peer = OnnxRuntimePeer.open(model, 1, tmp.resolve("ort"))) {
            CpuInference engine = new CpuInference(model.network());
            p = EngineProfile.run(EngineProfile.of(engine, x), new PeerLayers(peer, engine.spec(), x), 1, 0, 0.01);
        }
        try (var left = Files.list(tmp)) {
            assertEquals(List.of(), left.toList(), "the profile file is deleted");
        }
        assertEquals(p.steps().size(), p.peer().steps().size(), "every step matched: " + p.peer().steps().keySet());
        assertEquals(p.passes(), p.peer().forward().count());
        for (Results.StepTime s : p.steps()) {
            assertEquals(p.passes(), p.peer().steps().get(s.index()).count(), s.name());
            assertTrue(p.peer().steps().get(s.index()).mean() > 0, s.name());
        }
        assertTrue(p.peer().nodesSeconds() <= p.peer().forward().mean(), "the nodes run inside the runs");
        String groups = Output.profileGroups(p).text(), steps = Output.profileSteps(p).text();
        assertTrue(groups.contains("onnxruntime ms") && groups.contains("jresnet/onnxruntime")
                && groups.contains("other nodes (onnxruntime)") && groups.contains("whole pass (median)"), groups);
        assertTrue(steps.contains("onnxruntime median ms"), steps);
        assertFalse(groups.contains("NaN") || steps.contains("NaN"), groups + steps);

        Results.LayerRun run = new Results.LayerRun(ReportAndLabTest.info(), 1, List.of(), p);
        JsonNode prof = new ObjectMapper().readTree(Output.json(run)).path("profile");
        assertEquals("onnxruntime", prof.path("peer").path("name").asText());
        assertEquals(p.steps().size(), prof.path("peer").path("matched_steps").asInt());
        assertTrue(prof.path("steps").get(0).path("peer").path("latency_ms").path("median").asDouble() > 0);
        assertTrue(prof.path("groups").get(0).path("peer_ms").asDouble() > 0);
        List<Path> files = Report.write(tmp.resolve("report"), run);
        assertTrue(files.contains(tmp.resolve("report").resolve(Report.PROFILE_PEER)), files.toString());
        String md = Files.readString(tmp.resolve("report").resolve("summary.md"));
        assertTrue(md.contains("![ms per class, jresnet and onnxruntime](" + Report.PROFILE_PEER + ")"), md);
        var bars = Report.profilePeer(run).getCategoryPlot().getDataset();
        assertEquals(List.of("jresnet", "onnxruntime", Report.WARM_SERIES), bars.getRowKeys());
        assertTrue(groups.contains("warm ms") && steps.contains("pass/warm"), groups + steps);
    }
}
