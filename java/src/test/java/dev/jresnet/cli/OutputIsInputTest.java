package dev.jresnet.cli;

import dev.jresnet.finetune.FineTuneOptions;
import dev.jresnet.finetune.FineTuner;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No command writes over one of its inputs (the same file through any path, link or hard link) or into its data
 * folder: each refuses in one line before any work. The inputs here are not even valid files: a command that read
 * them first would fail with another message, and one that wrote first would change their bytes.
 */
class OutputIsInputTest {
    @TempDir
    Path tmp;
    Path weights;
    Path data;
    Path image;

    @BeforeEach
    void inputs() throws IOException {
        weights = Files.writeString(tmp.resolve("w.safetensors"), "the user's only copy of the weights");
        data = Files.createDirectories(tmp.resolve("data/cat"));
        image = Files.writeString(data.resolve("1.png"), "a training image");
        data = data.getParent();
    }

    /** Runs the command, expects the one-line refusal {@code expected}, and checks the inputs are untouched. */
    private void refused(String expected, String... args) throws IOException {
        List<String> before = files();
        ClassifyCommandTest.Run r = ClassifyCommandTest.run(args);
        assertEquals(2, r.exit(), r.err() + r.out());
        assertEquals("jresnet: error: " + expected, r.err().strip(), "one line: " + r.err());
        assertEquals("the user's only copy of the weights", Files.readString(weights));
        assertEquals("a training image", Files.readString(image));
        assertEquals(before, files(), "nothing written");
    }

    private List<String> files() throws IOException {
        try (Stream<Path> s = Files.walk(tmp)) {
            return s.map(Path::toString).sorted().toList();
        }
    }

    @Test
    void convertRefusesToWriteOverItsInput() throws IOException {
        refused("--out " + weights + " is the input " + weights + ": refusing to overwrite an input; choose another "
                + "output", "convert", weights.toString(), "--out", weights.toString());
        Path hard = Files.createLink(tmp.resolve("hard.safetensors"), weights);
        refused("--out " + hard + " is the input " + weights + ": refusing to overwrite an input; choose another "
                + "output", "convert", weights.toString(), "--out", hard.toString());
    }

    @Test
    void exportRefusesToWriteOverItsWeights() throws IOException {
        refused("--out " + weights + " is the input " + weights + ": refusing to overwrite an input; choose another "
                + "output", "export", "--weights", weights.toString(), "--out", weights.toString());
        Path viaDotDot = data.resolve("../w.safetensors");
        refused("--out " + viaDotDot + " is the input " + weights + ": refusing to overwrite an input; choose "
                + "another output", "export", "--weights", weights.toString(), "--out", viaDotDot.toString());
    }

    @Test
    void finetuneRefusesACheckpointOrModelOverItsWeightsOrInItsData() throws IOException {
        refused("checkpoint " + weights + " is the input " + weights + ": refusing to overwrite an input; choose "
                        + "another output",
                "finetune", data.toString(), "--weights", weights.toString(), "--out", tmp.resolve("m.safetensors")
                        .toString(), "--checkpoint", weights.toString());
        refused("checkpoint " + image + " is inside the input folder " + data + ": refusing to write into an input; "
                        + "choose another output",
                "finetune", data.toString(), "--out", tmp.resolve("m.safetensors").toString(), "--checkpoint",
                image.toString());
        Path link = Files.createSymbolicLink(tmp.resolve("link.safetensors"), weights);
        refused("output " + link + " is the input " + weights + ": refusing to overwrite an input; choose another "
                + "output", "finetune", data.toString(), "--weights", weights.toString(), "--out", link.toString());
        Path inData = data.resolve("m.safetensors");
        refused("output " + inData + " is inside the input folder " + data + ": refusing to write into an input; "
                + "choose another output", "finetune", data.toString(), "--out", inData.toString());
        Path curvesOverWeights = tmp.resolve("w.curves.png");
        Files.createSymbolicLink(curvesOverWeights, weights);
        refused("output " + curvesOverWeights + " is the input " + weights + ": refusing to overwrite an input; "
                        + "choose another output",
                "finetune", data.toString(), "--weights", weights.toString(), "--out", tmp.resolve("w").toString());
        Files.delete(curvesOverWeights);
    }

    @Test
    void finetuneMayContinueTheCheckpointItResumesButNotOverwriteItWithTheModel() throws IOException {
        Path ckpt = Files.writeString(tmp.resolve("m.ckpt.safetensors"), "checkpoint");
        FineTuneOptions resume = FineTuneOptions.builder(data, tmp.resolve("m.safetensors")).resume(ckpt).build();
        assertDoesNotThrow(() -> FineTuner.requireOutputsAreNotInputs(resume));
        Path model = Files.createLink(tmp.resolve("m.safetensors"), ckpt);
        FineTuneOptions overCkpt = FineTuneOptions.builder(data, model).checkpoint(ckpt).build();
        IOException e = assertThrows(IOException.class, () -> FineTuner.requireOutputsAreNotInputs(overCkpt));
        assertTrue(e.getMessage().startsWith("checkpoint " + ckpt + " is the output " + model), e.getMessage());
        FineTuneOptions resumeOverModel = FineTuneOptions.builder(data, tmp.resolve("n.safetensors")).resume(
                tmp.resolve("n.safetensors")).checkpoint(tmp.resolve("c.safetensors")).build();
        Files.writeString(tmp.resolve("n.safetensors"), "a checkpoint named like the model");
        e = assertThrows(IOException.class, () -> FineTuner.requireOutputsAreNotInputs(resumeOverModel));
        assertTrue(e.getMessage().contains("is the input"), e.getMessage());
    }

    @Test
    void evaluateRefusesAConfusionPngOverItsModelOrInItsData() throws IOException {
        refused("--confusion-png " + weights + " is the input " + weights + ": refusing to overwrite an input; "
                        + "choose another output",
                "evaluate", data.toString(), "--weights", weights.toString(), "--confusion-png", weights.toString());
        refused("--confusion-png " + image + " is inside the input folder " + data + ": refusing to write into an "
                        + "input; choose another output",
                "evaluate", data.toString(), "--weights", weights.toString(), "--confusion-png", image.toString());
    }
}
