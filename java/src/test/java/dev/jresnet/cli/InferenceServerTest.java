package dev.jresnet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.graph.Architecture;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.resnet.BatchingPredictor;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.Prediction;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code jresnet serve}'s server in this JVM on an ephemeral loopback port, over the seeded resnet18 at 64 px: the
 * Open Inference Protocol endpoints, /v1/classify against the model's own classify, bad requests refused with their
 * 4xx and one-line reason while the server keeps answering, and concurrent requests sharing batches.
 */
class InferenceServerTest {
    static final int S = 64;
    static ResNet model;
    static BatchingPredictor predictor;
    static InferenceServer server;
    static final HttpClient CLIENT = HttpClient.newHttpClient();
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        model = ResNet.builder().architecture(Architecture.RESNET18).imageSize(S).device(Device.cpu()).build();
        predictor = model.batching().maxBatch(4).maxWait(Duration.ofMillis(20)).timeout(Duration.ofSeconds(60))
                .build();
        server = InferenceServer.start(predictor, new InferenceServer.Options("127.0.0.1", 0, "resnet18", 8,
                1 << 20, 5));
    }

    @AfterAll
    static void stop() {
        assertEquals(0, server.stop(Duration.ofSeconds(5)));
        model.close();
    }

    record Reply(int status, String body, HttpResponse<String> raw) {
        JsonNode json() throws Exception {
            return JSON.readTree(body);
        }
    }

    static Reply get(String path) throws Exception {
        HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(URI.create(server.url() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r);
    }

    static Reply post(String path, String contentType, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.url() + path))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r);
    }

    static Tensor random(int n, long seed) {
        Random rnd = new Random(seed);
        Tensor t = Tensor.zeros(n, 3, S, S);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) rnd.nextGaussian();
        }
        return t;
    }

    /** An infer request for [n, 3, S, S], its data nested per image (the protocol allows flat or nested). */
    static byte[] inferBody(Tensor t, String id) throws Exception {
        var root = JSON.createObjectNode();
        root.put("id", id);
        var input = root.putArray("inputs").addObject();
        input.put("name", "input");
        input.put("datatype", "FP32");
        var shape = input.putArray("shape");
        for (int d : t.shape().dims()) {
            shape.add(d);
        }
        var data = input.putArray("data");
        int per = 3 * S * S;
        for (int i = 0; i < t.dim(0); i++) {
            var image = data.addArray();
            for (int j = 0; j < per; j++) {
                image.add(t.data()[i * per + j]);
            }
        }
        root.putArray("outputs").addObject().put("name", "logits");
        return JSON.writeValueAsBytes(root);
    }

    static Path sample(String name) {
        return dev.jresnet.testing.PyTorchReference.projectRoot().resolve("samples").resolve(name);
    }

    @Test
    void healthMetadataAndInferSpeakTheOpenInferenceProtocol() throws Exception {
        assertEquals(200, get("/v2/health/live").status);
        Reply ready = get("/v2/health/ready");
        assertEquals(200, ready.status);
        assertTrue(ready.json().get("ready").asBoolean());
        assertEquals("jresnet", get("/v2").json().get("name").asText());
        JsonNode meta = get("/v2/models/resnet18").json();
        assertEquals("resnet18", meta.get("name").asText());
        assertEquals("[-1,3,64,64]", meta.get("inputs").get(0).get("shape").toString());
        assertEquals("FP32", meta.get("inputs").get(0).get("datatype").asText());
        assertEquals("[-1,1000]", meta.get("outputs").get(0).get("shape").toString());
        assertEquals(200, get("/v2/models/resnet18/versions/1/ready").status);

        Tensor batch = random(2, 1);
        Reply r = post("/v2/models/resnet18/infer", "application/json", inferBody(batch, "req-7"));
        assertEquals(200, r.status, r.body);
        JsonNode out = r.json();
        assertEquals("req-7", out.get("id").asText());
        assertEquals("resnet18", out.get("model_name").asText());
        JsonNode logits = out.get("outputs").get(0);
        assertEquals("logits", logits.get("name").asText());
        assertEquals("[2,1000]", logits.get("shape").toString());
        float[][] expected = model.logits(batch);
        for (int i = 0; i < 2; i++) {
            for (int c = 0; c < 1000; c++) {
                assertEquals(expected[i][c], logits.get("data").get(i * 1000 + c).floatValue(),
                        1e-4f * Math.max(1, Math.abs(expected[i][c])), "image " + i + " class " + c);
            }
        }
    }

    @Test
    void classifyAnswersTheModelsOwnTopKForImageBytes() throws Exception {
        for (String name : List.of("chelsea.png", "rocket.jpg")) {
            Reply r = post("/v1/classify?top=3", name.endsWith(".png") ? "image/png" : "image/jpeg",
                    Files.readAllBytes(sample(name)));
            assertEquals(200, r.status, r.body);
            JsonNode top = r.json().get("top");
            List<Prediction> expected = model.classify(ImageDecoder.decode(sample(name)), 3);
            assertEquals(3, top.size());
            for (int k = 0; k < 3; k++) {
                assertEquals(expected.get(k).index(), top.get(k).get("index").asInt(), name);
                assertEquals(expected.get(k).label(), top.get(k).get("label").asText());
                assertEquals(expected.get(k).logit(), top.get(k).get("logit").floatValue(), 1e-4f, name);
            }
        }
    }

    @Test
    void badRequestsGetTheirStatusAndOneLineAndTheServerKeepsAnswering() throws Exception {
        byte[] good = inferBody(random(1, 2), "ok");
        String infer = "/v2/models/resnet18/infer";
        record Bad(int status, String fragment, Reply reply) {}
        List<Bad> cases = new ArrayList<>();
        cases.add(new Bad(400, "not valid JSON", post(infer, "application/json", "{\"inputs\": [".getBytes())));
        cases.add(new Bad(400, "\"inputs\" is missing", post(infer, "application/json", "{}".getBytes())));
        cases.add(new Bad(400, "datatype INT64", post(infer, "application/json", new String(good)
                .replace("FP32", "INT64").getBytes())));
        cases.add(new Bad(400, "unknown output \"probs\"", post(infer, "application/json", new String(good)
                .replace("\"logits\"", "\"probs\"").getBytes())));
        cases.add(new Bad(400, "holds 12288 values but \"data\" has 3", post(infer, null,
                "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,3,64,64],\"datatype\":\"FP32\",\"data\":[1,2,3]}]}"
                        .getBytes())));
        cases.add(new Bad(422, "input shape [1, 64, 64, 3] does not fit", post(infer, null, new String(good)
                .replace("[1,3,64,64]", "[1,64,64,3]").getBytes())));
        cases.add(new Bad(404, "no model \"resnet50\"", post("/v2/models/resnet50/infer", null, good)));
        cases.add(new Bad(404, "no version \"2\"", get("/v2/models/resnet18/versions/2")));
        cases.add(new Bad(404, "no endpoint /v3", get("/v3")));
        cases.add(new Bad(405, "GET is not allowed here: use POST", get(infer)));
        cases.add(new Bad(413, "larger than the server's limit", post(infer, "application/json",
                new byte[(1 << 20) + 1])));
        cases.add(new Bad(415, "infer takes a JSON tensor", post(infer, "image/png", good)));
        cases.add(new Bad(415, "takes the image file's bytes", post("/v1/classify", "application/json", good)));
        cases.add(new Bad(422, "not an image", post("/v1/classify", "image/png", "hello".getBytes())));
        cases.add(new Bad(400, "the body is empty", post("/v1/classify", "image/png", new byte[0])));
        cases.add(new Bad(400, "top must be in 1..1000", post("/v1/classify?top=0", "image/png",
                Files.readAllBytes(sample("coffee.png")))));
        for (Bad b : cases) {
            assertEquals(b.status, b.reply.status, b.reply.body);
            JsonNode err = b.reply.json();
            assertEquals(1, err.size(), b.reply.body);
            assertTrue(err.get("error").asText().contains(b.fragment), b.reply.body);
            assertEquals(1, b.reply.body.strip().lines().count(), "one line: " + b.reply.body);
        }
        assertEquals("POST", cases.get(9).reply.raw.headers().firstValue("Allow").orElse(null));
        assertEquals(200, post(infer, "application/json", good).status, "the server still infers");
        String metrics = get("/metrics").body;
        assertTrue(metrics.contains("jresnet_http_responses_total{code=\"413\"} 1"), metrics);
    }

    @Test
    void concurrentRequestsShareBatchesAndEachGetsItsOwnAnswer() throws Exception {
        List<String> names = List.of("chelsea.png", "coffee.png", "astronaut.png", "motorcycle_left.png",
                "rocket.jpg");
        List<Float> expected = new ArrayList<>();
        for (String n : names) {
            expected.add(model.classify(ImageDecoder.decode(sample(n)), 1).get(0).logit());
        }
        long batchesBefore = predictor.metrics().batches(), imagesBefore = predictor.metrics().images();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Reply>> replies = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            Path p = sample(names.get(i % names.size()));
            replies.add(pool.submit(() -> post("/v1/classify?top=1", "image/png", Files.readAllBytes(p))));
        }
        for (int i = 0; i < replies.size(); i++) {
            Reply r = replies.get(i).get();
            assertEquals(200, r.status, r.body);
            // Untrained weights put most photos in the same class: the logit tells the images apart.
            assertEquals(expected.get(i % names.size()), r.json().get("top").get(0).get("logit").floatValue(), 1e-4f,
                    "request " + i + " (" + names.get(i % names.size()) + ")");
        }
        pool.shutdown();
        BatchingPredictor.Metrics m = predictor.metrics();
        assertEquals(16, m.images() - imagesBefore);
        assertTrue(m.batches() - batchesBefore < 16, "no two requests shared a batch: " + m);
        assertTrue(get("/metrics").body.contains("jresnet_batch_size_bucket{le=\"4\"}"));
    }
}
