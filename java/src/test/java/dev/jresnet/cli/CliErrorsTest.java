package dev.jresnet.cli;

import dev.jresnet.cuda.CudaAvailability;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** Issue 11: every CLI mistake is ONE line on stderr (file or option, reason, fix), never the usage text. */
class CliErrorsTest {
    private static ClassifyCommandTest.Run run(String... args) {
        return ClassifyCommandTest.run(args);
    }

    /** Asserts exit 2 and exactly {@code line} on stderr, nothing on stdout. */
    private static void oneLine(String line, String... args) {
        ClassifyCommandTest.Run r = run(args);
        assertEquals(2, r.exit(), r.err());
        assertEquals(List.of(line), r.err().lines().toList(), r.err());
        assertEquals("", r.out(), r.out());
    }

    @Test
    void misspeltOptionsAndCommandsSuggestTheClosestName() {
        oneLine("jresnet: error: unknown option '--wieghts'; did you mean --weights? (`jresnet classify --help` lists"
                + " the options)", "classify", "--wieghts", "w.safetensors", "x.jpg");
        oneLine("jresnet: error: unknown option '--tpo'; did you mean --top? (`jresnet classify --help` lists the"
                + " options)", "classify", "--tpo=3", "x.jpg");
        oneLine("jresnet: error: unknown command 'clasify'; did you mean classify? (`jresnet --help` lists the"
                + " commands)", "clasify", "x.jpg");
        oneLine("jresnet: error: unknown option '--zzzzzz' (`jresnet classify --help` lists the options)",
                "classify", "--zzzzzz", "x.jpg");
    }

    @Test
    void missingAndMalformedOptionsAreOneLine() {
        oneLine("jresnet: error: Missing required option: '--out=OUT' (`jresnet convert --help` lists the options)",
                "convert", "in.pth");
        oneLine("jresnet: error: Invalid value for option '--top': 'abc' is not an int (`jresnet classify --help`"
                + " lists the options)", "classify", "--top", "abc", "x.jpg");
    }

    @Test
    void weightsOnlyCommandsHaveNoDeviceOptionsAndNoDeviceLine() {
        // With their required arguments, so that the option is what picocli refuses.
        for (String cmd : List.of("summary", "export --out m.onnx", "convert in.pth --out m.safetensors")) {
            for (String opt : List.of("--device cpu", "--precision fp16")) {
                ClassifyCommandTest.Run r = run((cmd + " " + opt).split(" "));
                assertEquals(2, r.exit(), r.err());
                assertTrue(r.err().startsWith("jresnet: error: unknown option '" + opt.split(" ")[0] + "'"), r.err());
                assertEquals(1, r.err().lines().count(), r.err());
            }
        }
        ClassifyCommandTest.Run r = run("summary", "--arch", "resnet18", "--untrained");
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.err().contains("device:"), r.err());
    }

    @Test
    void unusableCudaIsOneLineWithTheFix() {
        assumeFalse(CudaAvailability.backendStatus().usable(), "CUDA is usable here");
        oneLine("jresnet: error: --device cuda: CUDA is unusable here (" + CudaAvailability.backendStatus().reason()
                + "); `jresnet doctor` says what to install, or use --device cpu", "classify", "--device", "cuda",
                "--untrained", "--arch", "resnet18", "x.jpg");
    }

    @Test
    void aFileWhereAFolderIsNeededIsNamedWithTheReason(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("plain"), "x");
        ClassifyCommandTest.Run r = run("export", "--untrained", "--arch", "resnet18", "--out",
                file.resolve("model.onnx").toString());
        assertEquals(2, r.exit(), r.err());
        List<String> errors = r.err().lines().filter(l -> l.startsWith("jresnet: error")).toList();
        assertEquals(List.of("jresnet: error: " + file + ": is a file where a folder is needed"), errors, r.err());
    }

    @Test
    void anArgumentFileThatIsNotAFileIsOneLine(@TempDir Path tmp) {
        // picocli reads "@file" while parsing: a folder there once ended the run with its stack trace (CliFuzzTest)
        oneLine("jresnet: error: argument file @" + tmp + " is not a file (`jresnet --help` lists the commands)",
                "@" + tmp);
        oneLine("jresnet: error: argument file @. is not a file (`jresnet --help` lists the commands)",
                "classify", "@.");
    }

    @Test
    void aMissingWeightsFileIsOneLine() {
        for (String cmd : List.of("summary", "export")) {
            List<String> args = cmd.equals("export") ? List.of(cmd, "--weights", "/x/nope.safetensors", "--out",
                    "/x/out.onnx") : List.of(cmd, "--weights", "/x/nope.safetensors");
            oneLine("jresnet: error: weights file /x/nope.safetensors: no such file", args.toArray(String[]::new));
        }
        oneLine("jresnet: error: weights file /x/nope.safetensors: no such file", "convert", "/x/nope.safetensors",
                "--out", "/x/out.safetensors");
    }

    @Test
    void aBadInputIsReportedOnceNotOnStdout(@TempDir Path tmp) throws Exception {
        Path missing = tmp.resolve("missing.jpg");
        ClassifyCommandTest.Run r = run("classify", "--arch", "resnet18", "--untrained", "--device", "cpu",
                missing.toString());
        assertEquals(2, r.exit(), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.contains("missing.jpg")).count(), r.err());
        assertFalse(r.out().contains("missing.jpg"), r.out());
    }
}
