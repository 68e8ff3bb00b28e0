package dev.jresnet.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes a file so that readers see either the old file or the complete new one, never a partial write:
 * the content goes to a temporary file in the same folder, which is then renamed over the destination.
 */
public final class AtomicFile {
    /** Writes the whole content into {@code tmp}. */
    @FunctionalInterface
    public interface Body {
        void write(Path tmp) throws IOException;
    }

    private AtomicFile() {}

    /** On any failure the temporary file is removed and {@code dest} is left as it was. */
    public static void write(Path dest, Body body) throws IOException {
        Path dir = dest.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + dest.getFileName() + ".", ".tmp");
        try {
            // createTempFile makes the file private (0600); a written result should read like any new file.
            if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            }
            body.write(tmp);
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (Throwable t) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                t.addSuppressed(suppressed);
            }
            throw t;
        }
    }
}
