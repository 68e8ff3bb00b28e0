package dev.jresnet.cuda;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * Keeps CUDA graph capture apart from the calls that synchronise the whole device. The CUDA Programming Guide
 * (CUDA Graphs, "Prohibited and Unhandled Operations") makes it invalid to synchronise a device or context while any
 * of its streams captures; {@code cudaFree}, {@code cudaFreeHost}, {@code cudnnDestroy}, {@code cublasDestroy} and
 * the creation calls may synchronise implicitly. With one thread capturing its context's forward pass while another
 * creates or closes a context of the same model, the capture would be invalidated or the close would fail.
 *
 * <p>Captures hold the read lock (several contexts may capture at once: their streams and thread-local capture mode
 * keep them apart); creating and releasing native resources hold the write lock. Captures happen once per batch
 * bucket and context, so the lock costs nothing on the hot path. One lock per process: devices are few, and the
 * calls it orders are rare.
 */
final class CaptureLock {
    private static final ReentrantReadWriteLock LOCK = new ReentrantReadWriteLock();

    private CaptureLock() {}

    /** Runs a capture: any number at once, never beside {@link #exclusive}. */
    static <T> T capturing(Supplier<T> capture) {
        LOCK.readLock().lock();
        try {
            return capture.get();
        } finally {
            LOCK.readLock().unlock();
        }
    }

    /**
     * Runs a call that may synchronise the device, waiting for captures in progress. A thread that is itself
     * capturing runs it without waiting (it would wait for itself): CUDA then reports the invalid call, which is
     * the error to see.
     */
    static <T> T exclusive(Supplier<T> call) {
        if (LOCK.getReadHoldCount() > 0) {
            return call.get();
        }
        LOCK.writeLock().lock();
        try {
            return call.get();
        } finally {
            LOCK.writeLock().unlock();
        }
    }

    static void exclusive(Runnable call) {
        exclusive(() -> {
            call.run();
            return null;
        });
    }
}
