package dev.jresnet.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;

/**
 * The checks every command makes on the files it is given: an input must be a regular file (a named pipe would hang,
 * a device or {@code /dev/zero} behind a link would never end, a folder is not a weights file), and an output must
 * not be one of the inputs (the same file, also through links or another path). Messages are one line naming the
 * path.
 */
public final class FileChecks {
    private FileChecks() {}

    /**
     * {@code path} as a readable regular file (links followed), else an IOException whose message names it and says
     * what it is instead: "no such file", "is a directory", "is not a regular file (a named pipe, a device, ...)".
     */
    public static Path requireRegularFile(Path path, String what) throws IOException {
        String name = (what == null || what.isBlank() ? "" : what + " ") + path;
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, name + ": no such file");
        }
        if (Files.isDirectory(path)) {
            throw new IOException(name + ": is a directory, not a file");
        }
        if (!Files.isRegularFile(path)) {
            throw new IOException(name + ": is not a regular file (a named pipe, a socket or a device)");
        }
        if (!Files.isReadable(path)) {
            throw new IOException(name + ": cannot be read (permission denied)");
        }
        return path;
    }

    /**
     * Refuses {@code output} when it is one of {@code inputs}: the same path, or the same file reached another way
     * (links, {@code ..}, hard links). An output that does not exist yet is never an input.
     */
    public static void requireNotAnInput(Path output, String outputWhat, Collection<Path> inputs) throws IOException {
        if (output == null) {
            return;
        }
        for (Path in : inputs) {
            if (in == null) {
                continue;
            }
            boolean same = output.toAbsolutePath().normalize().equals(in.toAbsolutePath().normalize())
                    || Files.exists(output) && Files.exists(in) && Files.isSameFile(output, in);
            if (same) {
                throw new IOException(outputWhat + " " + output + " is one of the inputs (" + in
                        + "): refusing to overwrite it; choose another output");
            }
        }
    }
}
