package dev.jresnet.resnet;

import java.util.Arrays;

/**
 * The counters of a {@link BatchingPredictor}: queue depth, outcomes, batch sizes, and the latencies of the last
 * {@link #WINDOW} completed requests (a ring), from which {@link #snapshot()} takes percentiles. One lock: it is
 * taken a few times per request, next to a forward pass of milliseconds to seconds.
 */
final class PredictorStats {
    static final int WINDOW = 1024;

    private final long[] batchSizes;          // [maxBatch + 1]: index = images in the batch
    private final long[] latencies = new long[WINDOW];   // nanoseconds, a ring
    private int latencyCount;
    private int latencyNext;
    private int queueDepth;
    private long completed, failed, timedOut, cancelled, rejected, images, batches;

    PredictorStats(int maxBatch) {
        this.batchSizes = new long[maxBatch + 1];
    }

    synchronized void queued(int n) {
        queueDepth += n;
    }

    synchronized void dequeued(int n) {
        queueDepth -= n;
    }

    synchronized int queueDepth() {
        return queueDepth;
    }

    synchronized void batch(int n) {
        batches++;
        images += n;
        batchSizes[Math.min(n, batchSizes.length - 1)]++;
    }

    synchronized void completed(long nanos) {
        completed++;
        latencies[latencyNext] = nanos;
        latencyNext = (latencyNext + 1) % WINDOW;
        latencyCount = Math.min(latencyCount + 1, WINDOW);
    }

    /** Takes back a {@link #completed} count whose future was cancelled or timed out first (counted there). */
    synchronized void notCompleted() {
        completed--;
    }

    synchronized void failed() {
        failed++;
    }

    synchronized void timedOut() {
        timedOut++;
    }

    synchronized void cancelled() {
        cancelled++;
    }

    synchronized void rejected() {
        rejected++;
    }

    synchronized BatchingPredictor.Metrics snapshot() {
        long[] sorted = Arrays.copyOf(latencies, latencyCount);
        Arrays.sort(sorted);
        return new BatchingPredictor.Metrics(queueDepth, completed, failed, timedOut, cancelled, rejected, images,
                batches, batchSizes.clone(), percentile(sorted, 0.50), percentile(sorted, 0.90),
                percentile(sorted, 0.99), latencyCount);
    }

    /** The nearest-rank percentile of sorted nanoseconds, in milliseconds; 0 for none. */
    static double percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, rank - 1)] / 1e6;
    }
}
