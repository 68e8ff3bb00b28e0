package dev.jresnet.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Transformer in Spark local mode (local[2], one session for the class) on a binaryFile DataFrame of three sample
 * photos and a corrupt file: results equal {@code jresnet classify} / {@code jresnet embed} on the same files, the
 * corrupt one is a null result with its reason, empty partitions are harmless, the model is loaded once per executor,
 * and a fine-tuned model's class names come through. resnet18, seeded untrained weights.
 */
class ResNetTransformerTest {
    @TempDir
    static Path tmp;
    private static SparkSession spark;
    private static Path images;
    private static Dataset<Row> files;

    @BeforeAll
    static void start() throws IOException {
        spark = TestSession.start("ResNetTransformerTest");
        images = Fixtures.images(tmp.resolve("images"));
        files = spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(images.toString());
    }

    @AfterAll
    static void stop() {
        TestSession.stop(spark);
    }

    @BeforeEach
    void freshModels() {
        ExecutorModels.closeAll();
    }

    private static ResNetTransformer resnet18() {
        return new ResNetTransformer().setArchitecture("resnet18").setDevice("cpu").setBatchSize(2);
    }

    /** The rows by local path. */
    private static Map<String, Row> byPath(Dataset<Row> result) {
        return result.collectAsList().stream().collect(Collectors.toMap(
                r -> Fixtures.local(r.getString(r.fieldIndex("path"))), r -> r));
    }

    @Test
    void classifyEqualsTheCliAndACorruptImageIsANullResultWithItsReason() throws IOException {
        Map<String, Row> rows = byPath(resnet18().setTopK(3).transform(files));
        assertEquals(4, rows.size(), "one row per file");

        Fixtures.Run cli = Fixtures.cli("classify", images.toString(), "--arch", "resnet18", "--untrained", "--top",
                "3", "--device", "cpu", "--json");
        assertEquals(1, cli.exit(), cli.err());
        JsonNode results = new ObjectMapper().readTree(cli.out()).get("results");
        assertEquals(4, results.size());
        for (JsonNode r : results) {
            Row row = rows.get(r.get("input").asText());
            assertNotNull(row, r.get("input").asText());
            if (r.has("error")) {
                assertTrue(row.isNullAt(row.fieldIndex("prediction")));
                assertTrue(row.isNullAt(row.fieldIndex("top_k")));
                String error = row.getString(row.fieldIndex("error"));
                assertTrue(error.startsWith("not an image"), error);
                assertEquals(r.get("error").asText(), error, "the same reason as the CLI's");
                continue;
            }
            assertTrue(row.isNullAt(row.fieldIndex("error")));
            List<Row> top = row.getList(row.fieldIndex("top_k"));
            assertEquals(3, top.size());
            assertEquals(r.get("top").get(0).get("index").asInt(), row.getInt(row.fieldIndex("prediction")));
            assertEquals(r.get("top").get(0).get("label").asText(), row.getString(row.fieldIndex("predicted_label")));
            for (int k = 0; k < 3; k++) {
                JsonNode want = r.get("top").get(k);
                assertEquals(want.get("index").asInt(), top.get(k).getInt(0));
                assertEquals(want.get("label").asText(), top.get(k).getString(1));
                assertEquals(want.get("probability").asDouble(), top.get(k).getDouble(2), 1e-6);
                assertEquals(want.get("logit").asDouble(), top.get(k).getDouble(3), 1e-4);
            }
        }
    }

    @Test
    void embedEqualsTheCliAndPathsWorkAsBytesDo() throws IOException {
        Path jsonl = tmp.resolve("emb.jsonl");
        Fixtures.Run cli = Fixtures.cli("embed", images.toString(), "--arch", "resnet18", "--untrained", "--device",
                "cpu", "--out", jsonl.toString());
        assertEquals(1, cli.exit(), cli.err());
        Map<String, float[]> want = new HashMap<>();
        for (String line : Files.readAllLines(jsonl)) {
            JsonNode n = new ObjectMapper().readTree(line);
            float[] v = new float[n.get("embedding").size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = n.get("embedding").get(i).floatValue();
            }
            want.put(n.get("path").asText(), v);
        }
        assertEquals(3, want.size());

        Map<String, Row> fromBytes = byPath(resnet18().setMode("embed").transform(files));
        Dataset<Row> paths = spark.createDataset(fromBytes.keySet().stream().sorted().toList(), Encoders.STRING())
                .toDF("path");
        Map<String, Row> fromPaths = byPath(resnet18().setMode("embed").setInputCol("path").transform(paths));
        for (Map<String, Row> rows : List.of(fromBytes, fromPaths)) {
            assertEquals(4, rows.size());
            for (Map.Entry<String, float[]> e : want.entrySet()) {
                Row row = rows.get(e.getKey());
                List<Float> got = row.getList(row.fieldIndex("embedding"));
                assertEquals(512, got.size());
                for (int i = 0; i < 512; i++) {
                    assertEquals(e.getValue()[i], got.get(i), Math.abs(e.getValue()[i]) * 1e-6, e.getKey() + "[" + i + "]");
                }
            }
            Row broken = rows.get(images.resolve("sub/broken.jpg").toString());
            assertTrue(broken.isNullAt(broken.fieldIndex("embedding")));
            assertTrue(broken.getString(broken.fieldIndex("error")).startsWith("not an image"));
        }
    }

    @Test
    void partitionsWithoutRowsAreHarmlessAndLoadNoModel() {
        // 4 rows over 6 partitions: at least 2 partitions are empty
        Dataset<Row> spread = files.repartition(6);
        List<Row> rows = resnet18().transform(spread).collectAsList();
        assertEquals(4, rows.size());
        assertEquals(3, rows.stream().filter(r -> r.isNullAt(r.fieldIndex("error"))).count());

        ExecutorModels.closeAll();
        List<Row> none = resnet18().transform(files.filter("length < 0").repartition(3)).collectAsList();
        assertEquals(0, none.size());
        assertEquals(0, ExecutorModels.loads(), "a partition without rows never loads the model");
    }

    @Test
    void theModelIsLoadedOncePerExecutorForEveryTask() {
        Dataset<Row> four = files.repartition(4);
        assertEquals(4, four.rdd().getNumPartitions());
        assertEquals(4, resnet18().transform(four).count());
        resnet18().transform(four).collectAsList();  // a second job: the same model again
        assertEquals(1, ExecutorModels.loads(), "8 tasks on 2 task threads, one executor JVM: one model");
        resnet18().setArchitecture("resnet34").transform(files).collectAsList();
        assertEquals(2, ExecutorModels.loads(), "another model is another load");
    }

    @Test
    void aFineTunedModelsClassNamesFlowThrough() throws IOException {
        Path model = Fixtures.fineTunedModel(tmp);
        List<Row> rows = new ResNetTransformer().setWeights(model.toString()).setDevice("cpu").transform(files)
                .collectAsList();
        int good = 0;
        for (Row r : rows) {
            if (!r.isNullAt(r.fieldIndex("error"))) {
                continue;
            }
            good++;
            assertTrue(List.of("cat", "dog", "rocket").contains(r.getString(r.fieldIndex("predicted_label"))));
            List<Row> top = r.getList(r.fieldIndex("top_k"));
            assertEquals(3, top.size(), "topK 5 is at most the model's 3 classes");
            assertEquals(List.of("cat", "dog", "rocket"), top.stream().map(t -> t.getString(1)).sorted().toList());
        }
        assertEquals(3, good);
    }

    @Test
    void badSettingsAreRefusedOnTheDriverBeforeAnyTask() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> resnet18().setMode("segment").transform(files));
        assertEquals("mode must be classify or embed, got \"segment\"", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> resnet18().setInputCol("length").transform(files));
        assertTrue(e.getMessage().startsWith("inputCol \"length\" is bigint: it must hold image bytes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> resnet18().setTopKCol("path").transform(files));
        assertTrue(e.getMessage().startsWith("output column \"path\" already exists"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> resnet18().setLayer("fc").setMode("embed")
                .transform(files));
        assertTrue(e.getMessage().startsWith("unknown feature layer \"fc\""), e.getMessage());
        assertEquals(0, ExecutorModels.loads());
        // Spark ML finds the params by reflection (explainParams, copy)
        assertTrue(resnet18().explainParams().contains("batchSize: images per forward pass"));
        ResNetTransformer t = resnet18();
        ResNetTransformer copy = t.copy(new org.apache.spark.ml.param.ParamMap());
        assertEquals("resnet18", copy.getOrDefault(copy.architecture()));
        assertEquals(t.uid(), copy.uid());
    }
}
