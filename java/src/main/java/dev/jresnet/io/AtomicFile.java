package dev.jresnet.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Writes a file so that readers see either the old file or the complete new one, never a partial write:
 * the content goes to a temporary file {@code .NAME.DIGITS.tmp} in the same folder, which is then renamed over the
 * destination.
 *
 * <p>A process killed while writing (kill -9, a crash, the power) leaves its temporary file behind; the next write
 * to the same destination removes such leftovers. Another process may be writing the same destination at that very
 * moment, and removing its temporary file would make its write fail, so a leftover is removed only when all of these
 * hold: no thread of this JVM is writing it, no process holds the lock its writer takes on it while writing (the
 * kernel drops the locks of a dead process, kill -9 included), and it has not been modified for
 * {@link #STALE_AFTER} (a POSIX lock is dropped as soon as the writer closes any other descriptor of the file, as
 * the body does when it has written everything; from then to the rename takes milliseconds, during which the
 * file's modification time is fresh). A writer stalled for longer than that after writing its body could lose its
 * temporary file; its rename then fails with an error naming the destination, which keeps a complete version.
 *
 * <p>Every I/O failure of the JDK (a full disk, no permission, a missing folder) is rethrown as an IOException
 * "writing DEST: reason" naming the destination; the temporary file is removed and the destination keeps its old
 * content. Exceptions of jresnet's own types, which already say what is wrong, pass unchanged.
 */
public final class AtomicFile {
    /** Writes the whole content into {@code tmp}. */
    @FunctionalInterface
    public interface Body {
        void write(Path tmp) throws IOException;
    }

    /** How long an unlocked temporary file must have been left untouched before it counts as a dead writer's. */
    static final Duration STALE_AFTER = Duration.ofMinutes(1);

    /** The temporary files this JVM is writing now, which its cleanup must never touch. */
    private static final Set<Path> WRITING = ConcurrentHashMap.newKeySet();

    private AtomicFile() {}

    /** On any failure the temporary file is removed and {@code dest} is left as it was. */
    public static void write(Path dest, Body body) throws IOException {
        Path abs = dest.toAbsolutePath();
        Path dir = abs.getParent();
        String name = abs.getFileName().toString();
        removeStaleTemporaries(dir, name);
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + name + ".", ".tmp");
        } catch (IOException e) {
            throw failure(dest, e);
        }
        WRITING.add(tmp);
        FileChannel lock = null;
        try {
            lock = lockIfPosix(tmp);
            // createTempFile makes the file private (0600); a written result should read like any new file.
            if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            }
            body.write(tmp);
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            deleteAfterFailure(tmp, e);
            throw failure(dest, e);
        } catch (RuntimeException | Error e) {
            deleteAfterFailure(tmp, e);
            throw e;
        } finally {
            if (lock != null) {
                try {
                    lock.close(); // releases the lock; the file is renamed or deleted by now
                } catch (IOException ignored) {
                    // nothing was written through this channel
                }
            }
            WRITING.remove(tmp);
        }
    }

    private static void deleteAfterFailure(Path tmp, Throwable t) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException suppressed) {
            t.addSuppressed(suppressed);
        }
    }

    /**
     * An exclusive lock on {@code tmp} held through the returned channel, telling other processes' cleanup that
     * the file is being written. POSIX locks are advisory; on Windows a lock would forbid the body's own writes,
     * so there is none (the age test alone protects a live writer's file).
     */
    private static FileChannel lockIfPosix(Path tmp) throws IOException {
        if (!tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return null;
        }
        FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
        try {
            ch.tryLock(); // a fresh file nobody else knows yet: this cannot fail for contention
        } catch (IOException | OverlappingFileLockException e) {
            // File systems without locks (some network mounts): the age test still protects this file.
        }
        return ch;
    }

    /** {@code .NAME.DIGITS.tmp}: what {@code createTempFile(dir, ".NAME.", ".tmp")} makes, for this NAME only. */
    static Pattern temporaryName(String name) {
        return Pattern.compile(Pattern.quote("." + name + ".") + "[0-9]+" + Pattern.quote(".tmp"));
    }

    /** Removes the temporary files dead writers of {@code dir/name} left (see the class comment); best effort. */
    static void removeStaleTemporaries(Path dir, String name) {
        Pattern ours = temporaryName(name);
        String prefix = "." + name + ".";
        FileTime cutoff = FileTime.fromMillis(System.currentTimeMillis() - STALE_AFTER.toMillis());
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir,
                p -> p.getFileName().toString().startsWith(prefix))) {
            for (Path p : entries) {
                if (ours.matcher(p.getFileName().toString()).matches() && !WRITING.contains(p)
                        && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                        && Files.getLastModifiedTime(p).compareTo(cutoff) < 0) {
                    removeIfUnlocked(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            // Cleanup never stops a write: an unreadable folder fails the write itself, with its reason.
        }
    }

    private static void removeIfUnlocked(Path p) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            FileLock held = ch.tryLock();
            if (held != null) { // no live process is writing it
                Files.deleteIfExists(p);
            }
        } catch (IOException | OverlappingFileLockException e) {
            // Locked in this JVM, vanished meanwhile, or not ours to remove: leave it.
        }
    }

    /** The JDK's I/O error as "writing DEST: reason"; jresnet's own exception types pass unchanged. */
    static IOException failure(Path dest, IOException e) {
        String type = e.getClass().getName();
        if (!type.startsWith("java.") && !type.startsWith("javax.")) {
            return e;
        }
        String reason;
        if (e instanceof AccessDeniedException) {
            reason = "permission denied (cannot write in " + dest.toAbsolutePath().getParent() + ")";
        } else if (e instanceof NoSuchFileException) {
            reason = "folder " + dest.toAbsolutePath().getParent() + " does not exist";
        } else if (e instanceof DirectoryNotEmptyException) {
            reason = "is a directory";
        } else if (e instanceof FileSystemException f) {
            // Its message starts with the temporary file's name, which means nothing to the user.
            reason = f.getReason() != null ? f.getReason() : e.getClass().getSimpleName();
        } else {
            reason = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        }
        return new IOException("writing " + dest + ": " + reason, e);
    }
}
