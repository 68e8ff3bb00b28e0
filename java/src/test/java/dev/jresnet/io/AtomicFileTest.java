package dev.jresnet.io;

import dev.jresnet.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** AtomicFile: leftovers of dead writers are removed, live writers' files are not, failures name the destination. */
class AtomicFileTest {
    @TempDir
    Path tmp;

    /** A temporary file as a writer of {@code dest} killed {@code ageSeconds} ago would have left it. */
    private static Path leftover(Path dest, String digits, long ageSeconds) throws IOException {
        Path p = Files.writeString(dest.resolveSibling("." + dest.getFileName() + "." + digits + ".tmp"), "partial");
        Files.setLastModifiedTime(p, FileTime.fromMillis(System.currentTimeMillis() - ageSeconds * 1000));
        return p;
    }

    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theNextWriteRemovesOldUnlockedLeftoversOfItsDestinationOnly() throws IOException {
        Path dest = tmp.resolve("model.safetensors");
        Path dead1 = leftover(dest, "123456789", 120);
        Path dead2 = leftover(dest, "987", 3600);
        Path young = leftover(dest, "555", 5); // maybe a live writer between its body and its rename: kept
        Path other = leftover(tmp.resolve("model.safetensors.bak"), "42", 3600); // another destination's
        Path similar = Files.writeString(tmp.resolve(".model.safetensors.notdigits.tmp"), "not ours");
        Files.setLastModifiedTime(similar, FileTime.fromMillis(0));

        AtomicFile.write(dest, t -> Files.writeString(t, "new"));

        assertEquals("new", Files.readString(dest));
        assertFalse(Files.exists(dead1), "a dead writer's leftover is removed");
        assertFalse(Files.exists(dead2));
        assertTrue(Files.exists(young), "a leftover modified within " + AtomicFile.STALE_AFTER + " is kept");
        assertTrue(Files.exists(other), "another destination's temporary file is not touched");
        assertTrue(Files.exists(similar), "only names AtomicFile makes are removed");
    }

    @Test
    void aTemporaryFileLockedByAnotherProcessIsKeptHoweverOld() throws Exception {
        assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"), "POSIX locks only");
        Path dest = tmp.resolve("ckpt.safetensors");
        Path live = leftover(dest, "31337", 3600); // a writer stalled for an hour, still holding its lock
        Path ready = tmp.resolve("locked");
        Process holder = ChildJvm.start(tmp.resolve("holder.log"), dev.jresnet.testing.LockHolder.class,
                live.toString(), ready.toString());
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.exists(ready) && holder.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(Files.exists(ready), "the lock holder started: " + Files.readString(tmp.resolve("holder.log")));
            AtomicFile.write(dest, t -> Files.writeString(t, "new"));
            assertTrue(Files.exists(live), "a locked temporary file belongs to a live writer");
        } finally {
            holder.destroyForcibly().waitFor(); // SIGKILL: the kernel drops its lock
        }
        AtomicFile.write(dest, t -> Files.writeString(t, "newer"));
        assertFalse(Files.exists(live), "once its writer is dead, the next write removes it");
    }

    @Test
    void aTemporaryFileThisJvmIsWritingIsKeptHoweverOld() throws IOException {
        Path dest = tmp.resolve("m.onnx");
        AtomicFile.write(dest, outer -> {
            Files.writeString(outer, "outer");
            Files.setLastModifiedTime(outer, FileTime.fromMillis(0)); // looks an hour old, and unlocked now
            AtomicFile.write(dest, inner -> Files.writeString(inner, "inner")); // a second writer meanwhile
            assertTrue(Files.exists(outer), "another thread's write must not remove this one's file");
        });
        assertEquals("outer", Files.readString(dest));
        assertEquals(List.of("m.onnx"), names(tmp));
    }

    @Test
    void aFailedWriteNamesTheDestinationInOneLineAndKeepsTheOldFile() throws IOException {
        Path dest = Files.writeString(tmp.resolve("model.safetensors"), "old");
        IOException e = assertThrows(IOException.class, () -> AtomicFile.write(dest, t -> {
            Files.writeString(t, "part");
            throw new IOException("No space left on device");
        }));
        assertEquals("writing " + dest + ": No space left on device", e.getMessage());
        assertEquals("old", Files.readString(dest));
        assertEquals(List.of("model.safetensors"), names(tmp), "no temporary file is left");

        // jresnet's own exception types already say what is wrong: unchanged.
        IOException own = new OwnException("model.safetensors: bad tensor");
        assertEquals(own, assertThrows(IOException.class, () -> AtomicFile.write(dest, t -> {
            throw own;
        })));
        IllegalStateException ise = new IllegalStateException("bug");
        assertEquals(ise, assertThrows(IllegalStateException.class, () -> AtomicFile.write(dest, t -> {
            throw ise;
        })));
        assertEquals(List.of("model.safetensors"), names(tmp));
    }

    @Test
    void aMissingOrReadOnlyFolderIsNamedWithTheDestination() throws IOException {
        Path missing = tmp.resolve("no/such/dir/out.onnx");
        IOException e = assertThrows(IOException.class, () -> AtomicFile.write(missing, t -> {}));
        assertEquals("writing " + missing + ": folder " + missing.getParent() + " does not exist", e.getMessage());

        assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"));
        Path ro = Files.createDirectories(tmp.resolve("ro"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeTrue(!Files.isWritable(ro), "running as root: permissions do not stop the write");
            Path dest = ro.resolve("out.onnx");
            IOException denied = assertThrows(IOException.class, () -> AtomicFile.write(dest, t -> {}));
            assertTrue(denied.getMessage().startsWith("writing " + dest + ": permission denied"), denied.getMessage());
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    static final class OwnException extends IOException {
        OwnException(String m) {
            super(m);
        }
    }
}
