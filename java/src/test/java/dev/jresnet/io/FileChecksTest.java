package dev.jresnet.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** requireNotAnInput: an output is refused when it is an input however it is reached, or lies in an input folder. */
class FileChecksTest {
    @TempDir
    Path tmp;

    private String refused(Path out, Path... inputs) {
        IOException e = assertThrows(IOException.class, () -> FileChecks.requireNotAnInput(out, "--out", inputs));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith("--out " + out), e.getMessage());
        return e.getMessage();
    }

    @Test
    void theSameFileReachedAnyWayIsRefused() throws IOException {
        Path in = Files.writeString(tmp.resolve("w.safetensors"), "weights");
        Files.createDirectories(tmp.resolve("sub"));
        assertTrue(refused(in, in).contains("is the input " + in));
        refused(tmp.resolve("sub/../w.safetensors"), in);
        refused(Path.of("").toAbsolutePath().relativize(in), in); // relative to the working folder
        Path link = Files.createSymbolicLink(tmp.resolve("link.safetensors"), in);
        refused(link, in);
        refused(in, link);
        Path hard = Files.createLink(tmp.resolve("hard.safetensors"), in);
        refused(hard, in);
        Path linkedDir = Files.createSymbolicLink(tmp.resolve("linked"), tmp);
        refused(linkedDir.resolve("w.safetensors"), in);
        assertTrue(Files.readString(in).equals("weights"));
    }

    @Test
    void anOutputInsideAnInputFolderIsRefusedEvenBeforeItExists() throws IOException {
        Path data = Files.createDirectories(tmp.resolve("data/cat"));
        Path image = Files.writeString(data.resolve("1.png"), "png");
        String m = refused(image, tmp.resolve("data"));
        assertTrue(m.contains("is inside the input folder " + tmp.resolve("data")), m);
        refused(tmp.resolve("data/model.ckpt.safetensors"), tmp.resolve("data"));
        refused(tmp.resolve("data/new/deeper/model.safetensors"), tmp.resolve("data"));
        Path linkedData = Files.createSymbolicLink(tmp.resolve("ln"), tmp.resolve("data"));
        refused(linkedData.resolve("cat/new.png"), tmp.resolve("data"));
        refused(tmp.resolve("data/cat/x.png"), linkedData);
    }

    @Test
    void otherOutputsPass() throws IOException {
        Path in = Files.writeString(tmp.resolve("w.safetensors"), "weights");
        Files.createDirectories(tmp.resolve("data"));
        assertDoesNotThrow(() -> FileChecks.requireNotAnInput(tmp.resolve("out.safetensors"), "--out", in,
                tmp.resolve("data"), null, tmp.resolve("missing.pth")));
        // "data2" starts with "data" as a string, not as a path.
        assertDoesNotThrow(() -> FileChecks.requireNotAnInput(tmp.resolve("data2/m.safetensors"), "--out",
                List.of(tmp.resolve("data"))));
        Path old = Files.writeString(tmp.resolve("old.safetensors"), "old output");
        assertDoesNotThrow(() -> FileChecks.requireNotAnInput(old, "--out", in));
        assertDoesNotThrow(() -> FileChecks.requireNotAnInput(null, "--out", in));
    }

    @Test
    void aFolderIsNoOutputFile() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("out.safetensors"));
        assertTrue(refused(dir).contains("is a directory"));
    }
}
