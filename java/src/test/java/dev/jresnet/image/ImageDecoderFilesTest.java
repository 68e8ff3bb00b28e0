package dev.jresnet.image;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** ImageDecoder.decode(Path) opens regular files only: a named pipe is refused at once instead of blocking forever. */
class ImageDecoderFilesTest {
    static String reason(Path p) {
        return assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(p)).reason();
    }

    @Test
    void namedPipeIsRefusedWithoutReading(@TempDir Path tmp) throws Exception {
        Path fifo = tmp.resolve("photo.png");
        Assumptions.assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "no mkfifo");
        // Before: Files.readAllBytes blocked until a writer opened the pipe, i.e. forever.
        String r = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> reason(fifo));
        assertEquals("is not a regular file (a named pipe, a socket or a device)", r);
    }

    @Test
    void missingFilesFoldersAndBrokenLinksAreNamed(@TempDir Path tmp) throws Exception {
        assertEquals("no such file", reason(tmp.resolve("missing.png")));
        assertEquals("is a directory, not a file", reason(Files.createDirectory(tmp.resolve("dir.png"))));
        assertEquals("no such file", reason(Files.createSymbolicLink(tmp.resolve("link.png"), tmp.resolve("gone"))));
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> ImageDecoder.decode(tmp.resolve("missing.png")));
        assertEquals(tmp.resolve("missing.png") + ": no such file", e.getMessage());
    }
}
