package dev.jresnet.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** bench --report never writes a report file over the weights it times, and refuses before timing anything. */
class ReportOverwriteTest {
    @Test
    void aReportFileOverTheWeightsIsRefusedBeforeTheRun(@TempDir Path tmp) throws IOException {
        Path weights = Files.writeString(tmp.resolve("summary.md"), "weights a user named oddly");
        OptionValidationTest.Run r = OptionValidationTest.bench("--weights", weights.toString(), "--report",
                tmp.toString(), "--seconds", "1");
        assertEquals(2, r.status(), r.err());
        assertEquals("jresnet: error: --report file " + tmp.resolve("summary.md") + " is the input " + weights
                + ": refusing to overwrite an input; choose another output", r.err().strip());
        assertEquals("weights a user named oddly", Files.readString(weights));

        Path batchWeights = Files.writeString(Files.createDirectories(tmp.resolve("batch8")).resolve("layers.json"),
                "more weights");
        r = OptionValidationTest.bench("--weights", batchWeights.toString(), "--report", tmp.toString(), "--batch",
                "1,8", "--seconds", "1");
        assertEquals(2, r.status(), r.err());
        assertEquals("more weights", Files.readString(batchWeights));
    }
}
