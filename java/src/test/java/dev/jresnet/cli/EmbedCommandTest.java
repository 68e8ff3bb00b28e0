package dev.jresnet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.graph.Architecture;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.FeatureLayer;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code jresnet embed}: the files hold the API's features of exactly the inputs that could be read, in walk order,
 * beside their paths; bad inputs are listed and skipped; nothing is written when nothing could be embedded.
 * resnet18 (untrained, seed 0) on a folder of two sample photos, a nested one, and a file that is not an image.
 */
class EmbedCommandTest {
    private static ResNet model;

    @BeforeAll
    static void load() throws IOException {
        model = ResNet.builder().architecture(Architecture.RESNET18).device(Device.cpu()).seed(0).build();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** data/a.png, data/b/c.jpg, data/b/notes.png (text): two good images, one bad, one of them in a sub-folder. */
    private static Path data(Path tmp) throws IOException {
        Path data = tmp.resolve("data");
        Files.createDirectories(data.resolve("b"));
        Files.copy(ClassifyCommandTest.samples().resolve("coffee.png"), data.resolve("a.png"));
        Files.copy(ClassifyCommandTest.samples().resolve("rocket.jpg"), data.resolve("b/c.jpg"));
        Files.writeString(data.resolve("b/notes.png"), "not an image");
        return data;
    }

    private static float[][] expected(Path... images) throws IOException {
        List<dev.jresnet.image.RgbImage> list = new ArrayList<>();
        for (Path p : images) {
            list.add(ImageDecoder.decode(p));
        }
        return model.features(list);
    }

    @Test
    void npyHoldsTheFeaturesOfTheGoodImagesInWalkOrderAndTheirPaths(@TempDir Path tmp) throws IOException {
        Path data = data(tmp);
        Path out = tmp.resolve("emb.npy");
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("embed", data.toString(), "--out", out.toString(),
                "--arch", "resnet18", "--untrained", "--device", "cpu", "--batch", "1");
        assertEquals(1, r.exit(), "one input skipped: " + r.err());
        assertTrue(r.err().contains("jresnet: cannot embed " + data.resolve("b/notes.png") + ": not an image"), r.err());
        assertTrue(r.err().contains("jresnet: 1 of 3 inputs could not be embedded (listed above)"), r.err());
        Path paths = tmp.resolve("emb.paths.txt");
        assertEquals("wrote 2 embeddings of 512 floats (resnet18 pool) to " + out + ", their paths to " + paths + "\n",
                r.out());
        assertEquals(List.of(data.resolve("a.png").toString(), data.resolve("b/c.jpg").toString()),
                Files.readAllLines(paths));
        Tensor array = Npy.read(out);
        assertArrayEquals(new int[] {2, 512}, array.shape().dims());
        float[][] want = expected(data.resolve("a.png"), data.resolve("b/c.jpg"));
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(want[i], Arrays.copyOfRange(array.data(), i * 512, (i + 1) * 512), "row " + i);
        }
        assertFalse(Arrays.equals(want[0], want[1]), "two different images");
        // the header is numpy's v1.0, padded to 128 bytes whatever the row count
        byte[] head = Arrays.copyOf(Files.readAllBytes(out), 128);
        assertEquals('\n', head[127]);
        assertTrue(new String(head, 10, 117, java.nio.charset.StandardCharsets.US_ASCII)
                .startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 512), }"));
    }

    @Test
    void jsonlHoldsOnePathAndVectorPerLineAtTheLayerAsked(@TempDir Path tmp) throws IOException {
        Path data = data(tmp);
        Path out = tmp.resolve("emb.jsonl");
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("embed", data.resolve("b/c.jpg").toString(),
                data.resolve("a.png").toString(), "--out", out.toString(), "--layer", "layer3", "--arch", "resnet18",
                "--untrained", "--device", "cpu");
        assertEquals(0, r.exit(), r.err());
        List<String> lines = Files.readAllLines(out);
        assertEquals(2, lines.size());
        List<dev.jresnet.image.RgbImage> crops = List.of(model.crop(ImageDecoder.decode(data.resolve("b/c.jpg"))),
                model.crop(ImageDecoder.decode(data.resolve("a.png"))));
        float[][] want = model.featuresOfCrops(crops, FeatureLayer.LAYER3);
        ObjectMapper json = new ObjectMapper();
        for (int i = 0; i < 2; i++) {
            JsonNode line = json.readTree(lines.get(i));
            assertEquals(i == 0 ? data.resolve("b/c.jpg").toString() : data.resolve("a.png").toString(),
                    line.get("path").asText());
            JsonNode v = line.get("embedding");
            assertEquals(256, v.size(), "resnet18 layer3: 256 channels");
            for (int j = 0; j < 256; j++) {
                assertEquals(want[i][j], v.get(j).floatValue(), "line " + i + ", element " + j + " round-trips");
            }
        }
        assertFalse(Files.exists(tmp.resolve("emb.paths.txt")), "jsonl carries its paths");
    }

    @Test
    void nothingIsWrittenWhenNoInputCanBeEmbeddedOrTheOptionsAreWrong(@TempDir Path tmp) throws IOException {
        Path bad = tmp.resolve("bad.jpg");
        Files.writeString(bad, "text");
        Path out = tmp.resolve("emb.npy");
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("embed", bad.toString(), "--out", out.toString(),
                "--arch", "resnet18", "--untrained", "--device", "cpu");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("jresnet: no input could be embedded; nothing was written"), r.err());
        assertEquals(List.of("bad.jpg"), names(tmp), "no output and no temporary file left");

        r = ClassifyCommandTest.run("embed", bad.toString(), "--out", out.toString(), "--layer", "fc", "--untrained");
        assertEquals(2, r.exit());
        assertEquals("jresnet: error: --layer: unknown feature layer \"fc\": use one of pool, layer1, layer2, layer3, "
                + "layer4\n", r.err());

        Path data = data(tmp);
        r = ClassifyCommandTest.run("embed", data.toString(), "--out", data.resolve("emb.npy").toString(),
                "--untrained", "--arch", "resnet18");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("is inside the input folder"), r.err());
        assertFalse(Files.exists(data.resolve("emb.npy")));
    }

    @Test
    void aPathsFileThatCannotBeWrittenIsRefusedBeforeAnyWork(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("emb.npy");
        Files.writeString(out, "old");
        Files.createDirectories(tmp.resolve("emb.paths.txt/x"));
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("embed", ClassifyCommandTest.samples().resolve("coffee.png")
                .toString(), "--out", out.toString(), "--arch", "resnet18", "--untrained", "--device", "cpu");
        assertEquals(2, r.exit(), r.err());
        assertEquals("jresnet: error: the paths file " + tmp.resolve("emb.paths.txt") + ": is a directory; give the "
                + "name of the file to write\n", r.err());
        assertEquals("old", Files.readString(out));
        assertEquals(List.of("emb.npy", "emb.paths.txt"), names(tmp), "no temporary file left");
    }

    private static List<String> names(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
