package dev.jresnet.testing;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Child process: locks {@code args[0]} as a live AtomicFile writer does, creates {@code args[1]}, then waits. */
public final class LockHolder {
    private LockHolder() {}

    public static void main(String[] args) throws Exception {
        try (FileChannel ch = FileChannel.open(Path.of(args[0]), StandardOpenOption.WRITE)) {
            if (ch.tryLock() == null) {
                throw new IllegalStateException("could not lock " + args[0]);
            }
            Files.createFile(Path.of(args[1]));
            Thread.sleep(60_000);
        }
    }
}
