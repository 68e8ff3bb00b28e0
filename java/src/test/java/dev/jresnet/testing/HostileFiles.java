package dev.jresnet.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What every reader's hostile-input tests assert: a refusal within seconds, in one line naming the file. */
public final class HostileFiles {
    private static final Duration SECONDS = Duration.ofSeconds(10);

    private HostileFiles() {}

    /**
     * Runs {@code read} on {@code file}, expecting an IOException within 10 s whose message is one line naming the file
     * and holding every fragment; prints it with the time taken (the closing notes quote these lines).
     */
    public static String refused(Path file, Callable<?> read, String... fragments) {
        long t0 = System.nanoTime();
        IOException e = assertTimeoutPreemptively(SECONDS, () -> assertThrows(IOException.class, read::call));
        String m = e.getMessage();
        System.out.printf("%s (%d ms): %s%n", file.getFileName(), (System.nanoTime() - t0) / 1_000_000, m);
        assertTrue(m.contains(file.toString()), "names the file: " + m);
        assertFalse(m.contains("\n"), "one line: " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), "\"" + f + "\" missing from: " + m);
        }
        return m;
    }

    /**
     * A missing file, a folder, a link to /dev/zero and a named pipe, each named {@code NAME.EXT} in {@code dir}, are
     * refused by {@code reader} without hanging: "no such file", "is a directory", "is not a regular file".
     */
    public static void nonFilesAreRefused(Path dir, String ext, Function<Path, Callable<?>> reader) throws Exception {
        Path missing = dir.resolve("missing." + ext);
        refused(missing, reader.apply(missing), "no such file");
        Path folder = Files.createDirectory(dir.resolve("dir." + ext));
        refused(folder, reader.apply(folder), "is a directory");
        assumeTrue(Files.exists(Path.of("/dev/zero")), "no /dev/zero here");
        Path zero = Files.createSymbolicLink(dir.resolve("zero." + ext), Path.of("/dev/zero"));
        refused(zero, reader.apply(zero), "is not a regular file");
        Path fifo = dir.resolve("pipe." + ext);
        Process p;
        try {
            p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        } catch (IOException e) {
            assumeTrue(false, "mkfifo is not available here: " + e.getMessage());
            return;
        }
        assumeTrue(p.waitFor() == 0, "mkfifo failed");
        refused(fifo, reader.apply(fifo), "is not a regular file");
    }
}
