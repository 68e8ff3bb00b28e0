package dev.jresnet.cuda;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.*;

/** Capture against device-synchronising calls, without a GPU: the ordering {@link CaptureLock} promises. */
class CaptureLockTest {
    @Test
    void aReleaseWaitsForTheCaptureInProgressAndCapturesRunTogether() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            CountDownLatch capturing = new CountDownLatch(1);
            CountDownLatch endCapture = new CountDownLatch(1);
            Future<?> capture = pool.submit(() -> CaptureLock.capturing(() -> {
                capturing.countDown();
                await(endCapture);
                return null;
            }));
            assertTrue(capturing.await(10, TimeUnit.SECONDS));
            // a second capture (another context) is not held up by the first
            assertEquals("second", pool.submit(() -> CaptureLock.capturing(() -> "second")).get(10, TimeUnit.SECONDS));
            Future<String> release = pool.submit(() -> CaptureLock.exclusive(() -> "released"));
            assertThrows(TimeoutException.class, () -> release.get(300, TimeUnit.MILLISECONDS),
                    "a device-synchronising call must wait while a capture is in progress");
            endCapture.countDown();
            capture.get(10, TimeUnit.SECONDS);
            assertEquals("released", release.get(10, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void theCapturingThreadItselfIsNeverBlocked() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<String> f = pool.submit(() -> CaptureLock.capturing(() -> CaptureLock.exclusive(() -> "ran")));
            assertEquals("ran", f.get(10, TimeUnit.SECONDS), "a nested exclusive call must not deadlock");
        } finally {
            pool.shutdownNow();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
