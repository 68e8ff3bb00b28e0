package dev.jresnet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.onnx.OnnxExporter;
import dev.jresnet.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime beside the engine's profile, layer by layer ({@code jresnet bench --layers --compare onnxruntime}):
 * the same network exported to ONNX, one run after each of the engine's passes, its profiler's node times read back
 * and matched to the engine's steps by name. ONNX Runtime fuses a convolution with its batch norm, residual add and
 * ReLU into one node named after the batch norm's (or the ReLU's) output, with "_nchwc" appended where it runs its
 * blocked layout: "layer1.0.bn1.relu_nchwc" is the engine's {@code layer1.0.conv1}.
 */
final class PeerLayers implements EngineProfile.Peer {
    private final OnnxRuntimePeer peer;
    private final Map<Integer, String> stepKeys = new LinkedHashMap<>(); // step index -> its ONNX node's name
    private final List<Double> runs = new ArrayList<>();

    /**
     * {@code peer}, opened with its profiler on, beside an engine that runs the steps of {@code spec} (their indices
     * the profile's), on {@code input}.
     */
    PeerLayers(OnnxRuntimePeer peer, NetworkSpec spec, Tensor input) throws Exception {
        this.peer = peer;
        for (int i = 0; i < spec.steps().size(); i++) {
            stepKeys.put(i, OnnxExporter.stepName(spec, spec.steps().get(i)));
        }
        peer.load(input);
    }

    @Override
    public void run() throws Exception {
        runs.add(peer.run(false));
    }

    @Override
    public Results.PeerProfile finish(int timedRuns) throws Exception {
        Path json = peer.endProfiling();
        try {
            List<Double> timed = runs.subList(Math.max(0, runs.size() - timedRuns), runs.size());
            return match(nodeSeconds(json, timedRuns), stepKeys, peer.name(), peer.detail(), peer.threads(),
                    Statistics.of(timed.stream().mapToDouble(Double::doubleValue).toArray()), timedRuns);
        } finally {
            Files.deleteIfExists(json);
        }
    }

    /**
     * Each node's kernel times (seconds) in the last {@code lastRuns} runs of an ONNX Runtime profile (a JSON array of
     * trace events: a "model_run" event per run, a "NAME_kernel_time" event per node and run), by node name in the
     * order first seen.
     */
    static Map<String, List<Double>> nodeSeconds(Path json, int lastRuns) throws IOException {
        JsonNode events;
        try {
            events = new ObjectMapper().readTree(json.toFile());
        } catch (IOException e) {
            throw new IOException("ONNX Runtime's profile " + json + " is not JSON: " + e.getMessage(), e);
        }
        if (events == null || !events.isArray()) {
            throw new IOException("ONNX Runtime's profile " + json + ": expected an array of trace events");
        }
        List<long[]> modelRuns = new ArrayList<>(); // [start, end] in µs
        for (JsonNode e : events) {
            if ("Session".equals(e.path("cat").asText()) && "model_run".equals(e.path("name").asText())) {
                long ts = e.path("ts").asLong();
                modelRuns.add(new long[] {ts, ts + e.path("dur").asLong()});
            }
        }
        modelRuns.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> kept = modelRuns.subList(Math.max(0, modelRuns.size() - lastRuns), modelRuns.size());
        Map<String, List<Double>> nodes = new LinkedHashMap<>();
        for (JsonNode e : events) {
            String name = e.path("name").asText();
            if (!"Node".equals(e.path("cat").asText()) || !name.endsWith("_kernel_time")) {
                continue;
            }
            long ts = e.path("ts").asLong();
            if (kept.stream().anyMatch(r -> ts >= r[0] && ts <= r[1])) {
                nodes.computeIfAbsent(name.substring(0, name.length() - "_kernel_time".length()),
                        k -> new ArrayList<>()).add(e.path("dur").asLong() / 1e6);
            }
        }
        return nodes;
    }

    /**
     * The step name ({@link OnnxExporter#stepName}) a node's name gives: less "_nchwc" (ONNX Runtime's blocked layout), an "/Op" suffix (the
     * exporter's node names) and a trailing ".relu" (a fused ReLU names the node after its own output):
     * "layer1.0.bn1.relu_nchwc" → "layer1.0.bn1", "logits/Gemm" → "logits".
     */
    static String key(String node) {
        String k = node;
        if (k.endsWith("_nchwc")) {
            k = k.substring(0, k.length() - "_nchwc".length());
        }
        int slash = k.lastIndexOf('/');
        if (slash > 0) {
            k = k.substring(0, slash);
        }
        if (k.endsWith(".relu")) {
            k = k.substring(0, k.length() - ".relu".length());
        }
        return k;
    }

    /** The nodes' times per run, matched to the steps; a node that matches no step counts as unmatched. */
    static Results.PeerProfile match(Map<String, List<Double>> nodes, Map<Integer, String> stepKeys, String name,
                                     String detail, int threads, Statistics forward, int runs) {
        Map<String, Integer> stepOf = new HashMap<>();
        stepKeys.forEach((step, k) -> stepOf.put(k, step));
        Map<Integer, double[]> perRun = new java.util.TreeMap<>();
        double unmatched = 0;
        for (Map.Entry<String, List<Double>> n : nodes.entrySet()) {
            Integer step = stepOf.get(key(n.getKey()));
            double[] t = n.getValue().stream().mapToDouble(Double::doubleValue).toArray();
            double[] sum = step == null ? null : perRun.get(step);
            if (step != null && sum == null) {
                perRun.put(step, t);
            } else if (sum != null && sum.length == t.length) {  // an unfused part of the same step (a ReLU)
                for (int i = 0; i < t.length; i++) {
                    sum[i] += t[i];
                }
            } else {
                unmatched += java.util.Arrays.stream(t).sum() / Math.max(1, runs);
            }
        }
        Map<Integer, Statistics> steps = new LinkedHashMap<>();
        perRun.forEach((step, t) -> steps.put(step, Statistics.of(t)));
        return new Results.PeerProfile(name, detail, threads, forward, steps, unmatched, nodes.size());
    }
}
