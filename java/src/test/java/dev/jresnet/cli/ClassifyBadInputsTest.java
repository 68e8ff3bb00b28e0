package dev.jresnet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.graph.Architecture;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * classify with bad inputs among good ones: each bad one gets one line naming it and the reason, the others are
 * classified; exit 0 all classified, 1 some, 2 none. resnet18, seeded untrained, to keep it fast.
 */
class ClassifyBadInputsTest {
    static final String[] SMALL = {"--arch", "resnet18", "--untrained", "--device", "cpu"};

    static ClassifyCommandTest.Run classify(String... args) {
        String[] all = new String[args.length + 1 + SMALL.length];
        all[0] = "classify";
        System.arraycopy(args, 0, all, 1, args.length);
        System.arraycopy(SMALL, 0, all, 1 + args.length, SMALL.length);
        return ClassifyCommandTest.run(all);
    }

    static Path png(Path file, int w, int h) throws Exception {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (x * 7 + y * 3) & 0xffffff);
            }
        }
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    static Path npy(Path file, float poison) throws Exception {
        Tensor t = Tensor.zeros(3, 224, 224);
        t.data()[1000] = poison;
        Npy.write(file, t);
        return file;
    }

    /** The stderr lines that report a bad input. */
    static List<String> failures(ClassifyCommandTest.Run r) {
        return r.err().lines().filter(l -> l.startsWith("jresnet: cannot classify ")).toList();
    }

    @Test
    void nanAndInfinityTensorsAreRefusedAloneAndTheImagesAreClassified(@TempDir Path tmp) throws Exception {
        Path good = png(tmp.resolve("good.png"), 40, 30);
        Path nan = npy(tmp.resolve("nan.npy"), Float.NaN);
        Path inf = npy(tmp.resolve("inf.npy"), Float.NEGATIVE_INFINITY);
        Path fine = npy(tmp.resolve("fine.npy"), 0.5f);
        ClassifyCommandTest.Run r = classify(nan.toString(), good.toString(), inf.toString(), fine.toString(),
                "--batch", "2");
        assertEquals(1, r.exit(), r.err());
        List<String> bad = failures(r);
        assertEquals(2, bad.size(), r.err());
        assertTrue(bad.get(0).contains("nan.npy") && bad.get(0).contains("NaN at [0,4,104]"), bad.get(0));
        assertTrue(bad.get(1).contains("inf.npy") && bad.get(1).contains("-Infinity"), bad.get(1));
        // The good ones in input order with their top 5; the bad ones only once, on stderr (issue 11).
        String out = r.out();
        assertTrue(out.indexOf("good.png") < out.indexOf("fine.npy") && !out.contains("nan.npy")
                && !out.contains("inf.npy"), out);
        assertEquals(2 * 6, out.strip().split("\n").length, out);
        assertTrue(r.err().contains("2 of 4 inputs could not be classified"), r.err());
    }

    @Test
    void extremeAspectRatiosAreClassified(@TempDir Path tmp) throws Exception {
        // Resize alone would make 5,120,000x256 ("target size 5120000x256 is too large").
        Path wide = png(tmp.resolve("wide.png"), 20000, 1);
        Path tall = png(tmp.resolve("tall.png"), 1, 20000);
        ClassifyCommandTest.Run r = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> classify(wide.toString(), tall.toString()));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("wide.png\n  ") && r.out().contains("tall.png\n  "), r.out());
    }

    @Test
    void missingFilesFoldersAndPipesAreNamedWithoutHanging(@TempDir Path tmp) throws Exception {
        Path good = png(tmp.resolve("good.png"), 40, 30);
        Path missing = tmp.resolve("missing.jpg");
        Path dir = Files.createDirectory(tmp.resolve("folder.png"));
        Path fifo = tmp.resolve("fifo.png");
        boolean haveFifo = new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0;
        ClassifyCommandTest.Run r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> haveFifo
                ? classify(missing.toString(), good.toString(), dir.toString(), fifo.toString())
                : classify(missing.toString(), good.toString(), dir.toString()));
        assertEquals(1, r.exit(), r.err());
        List<String> bad = failures(r);
        assertEquals("jresnet: cannot classify " + missing + ": no such file", bad.get(0));
        // A folder is walked (ClassifyInputsTest); an empty one is one line.
        assertTrue(bad.get(1).startsWith("jresnet: cannot classify " + dir + ": holds no images ("), bad.get(1));
        if (haveFifo) {
            assertEquals("jresnet: cannot classify " + fifo + ": is not a regular file (a named pipe, a socket or a "
                    + "device)", bad.get(2));
        }
        assertEquals(haveFifo ? 3 : 2, bad.size(), r.err());
    }

    @Test
    void nothingClassifiableExitsTwo(@TempDir Path tmp) throws Exception {
        ClassifyCommandTest.Run r = classify(tmp.resolve("a.png").toString(), npy(tmp.resolve("n.npy"), Float.NaN)
                .toString());
        assertEquals(2, r.exit(), r.err());
        assertEquals(2, failures(r).size(), r.err());
        assertTrue(r.err().contains("2 of 2 inputs could not be classified"), r.err());
    }

    /** A 3-class resnet18 whose class names carry terminal escapes, and (huge) an fc that overflows float32. */
    static Path weights(Path file, List<String> labels, boolean huge) throws Exception {
        try (ResNet m = ResNet.builder().architecture(Architecture.of("resnet18").withClasses(3)).labels(labels)
                .seed(5).build()) {
            WeightSet set = m.exportWeights("test");
            if (huge) {
                java.util.Arrays.fill(set.entries().get("fc.weight").floats().data(), 3e38f);
            }
            SafetensorsWriter.write(file, set, DataType.F32, set.metadata());
        }
        return file;
    }

    @Test
    void classNamesAreShownNotObeyedAndEscapedInJson(@TempDir Path tmp) throws Exception {
        String evil = "cat\u001b[2J\u001b]0;owned\u0007";
        Path w = weights(tmp.resolve("evil.safetensors"), List.of(evil, "dog\rFAKE LINE", "bird\u202e"), false);
        Path good = png(tmp.resolve("good.png"), 40, 30);
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("classify", good.toString(), "--weights", w.toString(),
                "--device", "cpu", "--top", "3");
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.out().chars().anyMatch(c -> c == 0x1b || c == 0x07 || c == 0x0d || c == 0x202e), r.out());
        assertTrue(r.out().contains("cat\\x1b[2J\\x1b]0;owned\\x07"), r.out());
        assertTrue(r.out().contains("dog\\x0dFAKE LINE") && !r.out().contains("\rFAKE"), r.out());
        assertTrue(r.out().contains("bird\\u202e"), r.out());

        r = ClassifyCommandTest.run("classify", good.toString(), "--weights", w.toString(), "--device", "cpu",
                "--top", "3", "--json");
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.out().chars().anyMatch(c -> c == 0x1b || c == 0x07 || c == 0x0d || c == 0x202e), r.out());
        JsonNode top = new ObjectMapper().readTree(r.out()).get("results").get(0).get("top");
        List<String> labels = new java.util.ArrayList<>();
        top.forEach(t -> labels.add(t.get("label").asText()));
        assertTrue(labels.containsAll(List.of(evil, "dog\rFAKE LINE", "bird\u202e")), "JSON keeps the names: " + labels);
    }

    @Test
    void logitsThatOverflowAreAPerInputErrorNotNaNProbabilities(@TempDir Path tmp) throws Exception {
        Path w = weights(tmp.resolve("huge.safetensors"), List.of("a", "b", "c"), true);
        Path good = png(tmp.resolve("good.png"), 40, 30);
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("classify", good.toString(), "--weights", w.toString(),
                "--device", "cpu", "--json");
        assertEquals(2, r.exit(), r.err());
        assertFalse(r.out().contains("NaN"), r.out());
        JsonNode res = new ObjectMapper().readTree(r.out()).get("results").get(0);
        assertTrue(res.get("error").asText().contains("logits are not finite"), res.toString());
        assertEquals(1, failures(r).size(), r.err());
    }

    @Test
    void nonFiniteAndOverflowingOptionsAreRefusedNamingTheOption(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectories(tmp.resolve("d"));
        String out = tmp.resolve("m.safetensors").toString();
        String[][] cases = {
                {"--lr", "NaN"}, {"--lr", "Infinity"}, {"--lr", "1e39"}, {"--weight-decay", "NaN"},
                {"--momentum", "NaN"}, {"--label-smoothing", "-Infinity"}, {"--clip-grad-norm", "NaN"},
                {"--val-fraction", "NaN"}, {"--feature-cache-mb", "9223372036854775807"},
                {"--feature-cache-mb", "17592186044416"}, {"--epochs", "99999999999"},
        };
        for (String[] c : cases) {
            ClassifyCommandTest.Run r = ClassifyCommandTest.run("finetune", data.toString(), "--out", out, c[0], c[1]);
            String what = String.join(" ", c) + ": " + r.err();
            assertEquals(2, r.exit(), what);
            assertTrue(r.err().contains(c[0]), what);
            assertTrue(r.err().lines().findFirst().orElse("").contains(c[0]), "the first line names it: " + what);
        }
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("evaluate", data.toString(), "--weights", out,
                "--val-fraction", "NaN");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--val-fraction") && r.err().contains("not a finite number"), r.err());
        r = classify(tmp.resolve("x.png").toString(), "--batch", "100000");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--batch must be in 1..1024"), r.err());
    }

    @Test
    void nonFiniteSettingsOfTheApiAreNotReadAsUnset() {
        var b = dev.jresnet.finetune.FineTuneOptions.builder(Path.of("d"), Path.of("o.safetensors"));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> b.lr(Float.NaN).build());
        assertTrue(e.getMessage().contains("learning rate") && e.getMessage().contains("NaN"), e.getMessage());
        var b2 = dev.jresnet.finetune.FineTuneOptions.builder(Path.of("d"), Path.of("o.safetensors"));
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> b2.weightDecay(Float.NaN).build());
        assertTrue(e.getMessage().contains("weight decay") && e.getMessage().contains("NaN"), e.getMessage());
    }
}
