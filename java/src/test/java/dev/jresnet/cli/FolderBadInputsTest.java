package dev.jresnet.cli;

import dev.jresnet.train.SyntheticShapes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * finetune and evaluate on a folder holding a 20000x1 image (its 224 px evaluation resize used to fail the whole run:
 * "target size 5120000x256 is too large"), a named pipe and a missing link target: the extreme image is used, the
 * others are skipped and listed, exit 1. resnet18 at 224 px, one epoch, features cached.
 */
class FolderBadInputsTest {
    @Test
    void extremeImagesAreUsedAndUnreadableOnesSkippedAndListed(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("shapes");
        SyntheticShapes.generate(data, 2, 40, 1);
        ClassifyBadInputsTest.png(data.resolve("striped/wide.png"), 20000, 1);
        ClassifyBadInputsTest.png(data.resolve("checkered/tall.png"), 1, 20000);
        Path fifo = data.resolve("striped/zz_fifo.png");
        boolean haveFifo = new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0;
        Path dangling = Files.createSymbolicLink(data.resolve("checkered/zz_gone.png"), tmp.resolve("nowhere.png"));
        Path model = tmp.resolve("m.safetensors");

        ClassifyCommandTest.Run r = assertTimeoutPreemptively(Duration.ofSeconds(240), () -> ClassifyCommandTest.run(
                "finetune", data.toString(), "--out", model.toString(), "--arch", "resnet18", "--epochs", "1",
                "--no-augment", "--batch", "8", "--val-fraction", "0.5"));
        int skipped = haveFifo ? 2 : 1;
        assertEquals(1, r.exit(), "model written, some images skipped: " + r.err() + r.out());
        assertTrue(r.out().contains("skipped " + skipped + " undecodable image"), r.out());
        assertTrue(r.out().contains("  " + dangling + ": no such file"), r.out());
        if (haveFifo) {
            assertTrue(r.out().contains("  " + fifo + ": is not a regular file"), r.out());
        }
        assertTrue(!r.out().contains("wide.png") && !r.out().contains("tall.png"), "extreme images are used: " + r.out());
        assertTrue(Files.exists(model));

        ClassifyCommandTest.Run e = assertTimeoutPreemptively(Duration.ofSeconds(240), () -> ClassifyCommandTest.run(
                "evaluate", data.toString(), "--weights", model.toString(), "--batch", "8", "--all"));
        assertEquals(1, e.exit(), e.err() + e.out());
        assertTrue(e.out().contains("(14 images,"), e.out());
        assertTrue(e.out().contains("skipped " + skipped + " undecodable image"), e.out());
    }
}
