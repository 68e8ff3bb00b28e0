package dev.jresnet.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
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
            throw new NoSuchFileException(name, null, "no such file"); // message: NAME: no such file
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
     * Refuses, before any work, an {@code output} that would replace or join an input: the same file as an input
     * (same path, or reached another way: symbolic links, {@code ..}, hard links), a file inside an input that is a
     * folder (a checkpoint or chart written into the training data would replace an image or become one), or an
     * existing folder. An output that does not exist yet is a file of none of the inputs unless it lies in an input
     * folder. Null inputs (options not given) are skipped; inputs that do not exist are skipped (their own check
     * reports them).
     *
     * @param outputWhat how the user named the output, e.g. {@code "--out"}, for the message
     */
    public static void requireNotAnInput(Path output, String outputWhat, Collection<Path> inputs) throws IOException {
        if (output == null) {
            return;
        }
        String out = (outputWhat == null || outputWhat.isBlank() ? "output" : outputWhat) + " " + output;
        if (Files.isDirectory(output)) {
            throw new IOException(out + ": is a directory; give the name of the file to write");
        }
        Path resolved = resolve(output);
        for (Path in : inputs) {
            if (in == null || !Files.exists(in)) {
                continue;
            }
            if (Files.isDirectory(in)) {
                if (resolved.startsWith(in.toRealPath())) {
                    throw new IOException(out + " is inside the input folder " + in
                            + ": refusing to write into an input; choose another output");
                }
            } else if (sameFile(output, in)) {
                throw new IOException(out + " is the input " + in
                        + ": refusing to overwrite an input; choose another output");
            }
        }
    }

    /** {@link #requireNotAnInput(Path, String, Collection)} for inputs given one by one (null ones skipped). */
    public static void requireNotAnInput(Path output, String outputWhat, Path... inputs) throws IOException {
        requireNotAnInput(output, outputWhat, Arrays.asList(inputs));
    }

    /**
     * Whether {@code a} and {@code b} name the same file: the same place once links are resolved, or the same
     * device and inode (hard links).
     */
    public static boolean sameFile(Path a, Path b) throws IOException {
        return resolve(a).equals(resolve(b)) || Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
    }

    /**
     * The absolute path {@code p} stands for, links resolved: the deepest part that exists is made real (every
     * symbolic link followed), the rest, not created yet, appended. So a file to be created through a linked
     * folder compares equal to the same place reached directly.
     */
    static Path resolve(Path p) throws IOException {
        Path abs = p.toAbsolutePath();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs.normalize();
        }
        return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
    }
}
