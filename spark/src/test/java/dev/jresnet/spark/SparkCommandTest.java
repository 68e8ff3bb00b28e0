package dev.jresnet.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code jresnet spark classify|embed DIR --out OUT --master local[2]} through the engine's CLI (the command found by
 * ServiceLoader): one row per image with the top-1 of {@code jresnet classify}; the command starts and stops its own
 * local session.
 */
class SparkCommandTest {
    @TempDir
    static Path tmp;

    @AfterAll
    static void noSessionLeft() {
        TestSession.stop(null);
    }

    @Test
    void sparkClassifyWritesOneRowPerImageWithTheTop1OfClassify() throws IOException {
        Path images = Fixtures.images(tmp.resolve("images"));
        Files.writeString(images.resolve("notes.txt"), "not an image name: not read");
        Path out = tmp.resolve("labels");
        Fixtures.Run r = Fixtures.cli("spark", "classify", images.toString(), "--out", out.toString(), "--format",
                "json", "--master", "local[2]", "--arch", "resnet18", "--device", "cpu", "--batch", "2");
        assertEquals(1, r.exit(), "one image could not be read: " + r.err());
        assertTrue(r.out().startsWith("wrote 4 rows (3 images, 1 could not be read) to " + out + " (json) in "),
                r.out());
        assertTrue(r.err().contains("jresnet: cannot classify file:" + images.resolve("sub/broken.jpg")
                + ": not an image"), r.err());
        assertTrue(Files.exists(out.resolve("_SUCCESS")), "written through Spark's committer");
        assertFalse(SparkSession.getDefaultSession().isDefined(), "the command stopped the session it started");

        Map<String, JsonNode> rows = new HashMap<>();
        ObjectMapper json = new ObjectMapper();
        try (var parts = Files.list(out)) {
            for (Path part : parts.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                for (String line : Files.readAllLines(part)) {
                    JsonNode n = json.readTree(line);
                    rows.put(Fixtures.local(n.get("path").asText()), n);
                }
            }
        }
        assertEquals(4, rows.size(), "one row per image file, notes.txt not read");
        Fixtures.Run cli = Fixtures.cli("classify", images.toString(), "--arch", "resnet18", "--untrained",
                "--device", "cpu", "--json", "--top", "1");
        for (JsonNode c : json.readTree(cli.out()).get("results")) {
            JsonNode row = rows.get(c.get("input").asText());
            assertNotNull(row, c.get("input").asText());
            if (c.has("error")) {
                assertTrue(row.get("prediction").isNull(), "every key on every line, null included");
                assertTrue(row.get("error").asText().startsWith("not an image"));
            } else {
                assertEquals(c.get("top").get(0).get("index").asInt(), row.get("prediction").asInt(),
                        "top-1 of " + c.get("input").asText());
                assertEquals(5, row.get("top_k").size());
            }
        }

        Fixtures.Run again = Fixtures.cli("spark", "classify", images.toString(), "--out", out.toString(), "--master",
                "local[2]", "--arch", "resnet18");
        assertEquals(2, again.exit());
        assertTrue(again.err().startsWith("jresnet: error: ") && again.err().contains("already exists"), again.err());
    }

    @Test
    void sparkEmbedWritesParquetVectors() throws IOException {
        Path images = Fixtures.images(tmp.resolve("embed-images"));
        Files.delete(images.resolve("sub/broken.jpg"));
        Path out = tmp.resolve("vectors");
        Fixtures.Run r = Fixtures.cli("spark", "embed", images.toString(), "--out", out.toString(), "--master",
                "local[2]", "--arch", "resnet18", "--device", "cpu");
        assertEquals(0, r.exit(), r.err());
        SparkSession spark = TestSession.start("SparkCommandTest");
        try {
            List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
            assertEquals(3, rows.size());
            for (Row row : rows) {
                assertEquals(512, row.getList(row.fieldIndex("embedding")).size());
                assertTrue(row.isNullAt(row.fieldIndex("error")));
            }
        } finally {
            TestSession.stop(spark);
        }
    }
}
