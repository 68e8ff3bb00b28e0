package dev.jresnet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.testing.PyTorchReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The classify command end to end on the shipped sample photos, with the seeded untrained weights. */
class ClassifyCommandTest {
    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    static Path samples() {
        return PyTorchReference.projectRoot().resolve("samples");
    }

    @Test
    void textOutputListsTopFivePerImageAndAnnouncesUntrainedWeights() {
        Run r = run("classify", samples().resolve("chelsea.png").toString(), samples().resolve("rocket.jpg").toString(),
                "--device", "cpu", "--untrained", "--batch", "2");
        assertEquals(0, r.exit, r.err);
        assertTrue(r.err.contains("device:  cpu"), r.err);
        assertTrue(r.err.contains("UNTRAINED"), r.err);
        assertTrue(r.out.contains("chelsea.png") && r.out.contains("rocket.jpg"), r.out);
        assertEquals(2 + 2 * 5, r.out.strip().split("\n").length, r.out);
    }

    @Test
    void jsonHasEveryClassWithTop1000AndABadInputIsReportedByName(@TempDir Path tmp) throws Exception {
        Path bad = tmp.resolve("broken.jpg");
        Files.write(bad, new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, 0x00, 0x12});
        Run r = run("classify", samples().resolve("coffee.png").toString(), bad.toString(),
                samples().resolve("astronaut.png").toString(), "--json", "--top", "1000", "--device", "cpu", "--untrained");
        assertEquals(1, r.exit, "a bad input makes the exit status non-zero");
        JsonNode root = new ObjectMapper().readTree(r.out);
        assertEquals("cpu", root.get("device").asText());
        assertTrue(root.get("weights").asText().contains("untrained"));
        JsonNode results = root.get("results");
        assertEquals(3, results.size());
        assertEquals(1000, results.get(0).get("top").size());
        assertTrue(results.get(1).get("input").asText().endsWith("broken.jpg"), results.get(1).toString());
        assertTrue(results.get(1).get("error").asText().contains("corrupt or truncated JPEG"), results.get(1).toString());
        assertEquals(1000, results.get(2).get("top").size(), "inputs after the bad one are still classified");
        double sum = 0;
        for (JsonNode t : results.get(0).get("top")) {
            sum += t.get("probability").asDouble();
        }
        assertEquals(1.0, sum, 1e-3);
        JsonNode first = results.get(0).get("top").get(0);
        assertTrue(first.has("index") && first.has("label") && first.has("logit"), first.toString());
        assertTrue(r.err.contains("broken.jpg"), r.err);
    }

    @Test
    void badOptionsGiveOneLineErrors() {
        Run r = run("classify", samples().resolve("coffee.png").toString(), "--device", "tpu");
        assertEquals(2, r.exit);
        assertTrue(r.err.contains("unknown device \"tpu\""), r.err);
        r = run("classify", samples().resolve("coffee.png").toString(), "--top", "0", "--device", "cpu", "--untrained");
        assertEquals(2, r.exit);
        assertTrue(r.err.contains("--top must be in 1..1000"), r.err);
        r = run("classify", samples().resolve("coffee.png").toString(), "--weights", "/nonexistent/w.pth", "--device", "cpu");
        assertEquals(2, r.exit);
        assertTrue(r.err.contains("/nonexistent/w.pth"), r.err);
    }

    @Test
    void cudaWithoutAGpuFailsWithTheReasonNotAStackTrace() {
        org.junit.jupiter.api.Assumptions.assumeFalse(dev.jresnet.cuda.CudaAvailability.status().usable());
        Run r = run("classify", samples().resolve("coffee.png").toString(), "--device", "cuda");
        assertEquals(2, r.exit);
        assertTrue(r.err.contains("CUDA is unusable") && !r.err.contains("\tat "), r.err);
    }

    @Test
    void summaryReportsParametersAndFlops() {
        Run r = run("summary", "--untrained");
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.contains("25,557,032"), r.out);
        assertTrue(r.out.contains("GFLOP"), r.out);
    }
}
