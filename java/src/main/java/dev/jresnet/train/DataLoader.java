package dev.jresnet.train;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Loads a sample list in batches, decoding and transforming images on a small pool of worker threads
 * while the caller computes on the previous batch.
 *
 * <pre>{@code
 * try (DataLoader loader = DataLoader.builder(split.train(), Transforms.train(preset))
 *         .batchSize(32).shuffle(true).seed(7).build()) {
 *     for (int epoch = 0; epoch < epochs; epoch++) {
 *         for (Batch b : loader.epoch(epoch)) { ... }
 *     }
 * }
 * }</pre>
 *
 * <p><b>Determinism.</b> An epoch's order is a shuffle seeded by {@code seed + epoch} (or the list order
 * without shuffle); batch k always covers positions {@code [k*B, (k+1)*B)} of that order; a sample's
 * augmentation draws from a generator derived from (seed, epoch, sample index). So the batches, bit for
 * bit, depend only on the samples, the transform, the options and the epoch, never on thread count or
 * timing.
 *
 * <p><b>Undecodable images</b> are left out of their batch, which is then smaller; batches are not
 * refilled from later positions, since that would shift every later batch and make one bad file change
 * the whole rest of the epoch. A batch that loses all its samples is not returned. Each such file is
 * listed in {@link #skipped()} and logged once (a warning on the {@code dev.jresnet.train} System.Logger).
 * {@code dropLast} drops the final partial position range, before any skipping.
 *
 * <p><b>Threads.</b> A fixed pool of daemon threads ({@code min(4, processors)} by default) runs one task
 * per sample; the last task of a batch assembles it. At most {@code prefetch} batches are in preparation or
 * ready beyond the one the caller holds. Any failure other than a decode error (a throwing transform, an
 * out-of-memory error) is rethrown to the caller as a {@link DataLoaderException} naming the sample.
 * {@link #close()} stops the workers: queued samples are dropped, running ones interrupted, and it returns
 * after at most about a second even if a worker ignores the interrupt. Starting another epoch abandons the
 * unfinished one. The loader is meant to be driven from one thread; only {@code close} and
 * {@code skipped} may be called from others.
 */
public final class DataLoader implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("dev.jresnet.train");
    private static final long CLOSE_WAIT_MS = 1000;

    private final List<Sample> samples;
    private final Transform transform;
    private final int batchSize;
    private final boolean shuffle;
    private final boolean dropLast;
    private final long seed;
    private final int prefetch;
    private final ExecutorService workers;
    private final Map<Path, Skipped> skipped = new LinkedHashMap<>();
    private volatile boolean closed;
    private EpochRun current;

    private DataLoader(Builder b) {
        this.samples = List.copyOf(b.samples);
        this.transform = b.transform;
        this.batchSize = b.batchSize;
        this.shuffle = b.shuffle;
        this.dropLast = b.dropLast;
        this.seed = b.seed;
        this.prefetch = b.prefetch;
        this.workers = Executors.newFixedThreadPool(b.workers, new WorkerThreads());
    }

    public static Builder builder(List<Sample> samples, Transform transform) {
        return new Builder(samples, transform);
    }

    /** The batches of one epoch, in order. Starting another epoch (or iterating this one again) abandons the unfinished one. */
    public Iterable<Batch> epoch(int epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch " + epoch + " must be >= 0");
        }
        return () -> start(epoch);
    }

    /** How many position ranges an epoch has: batches returned, unless some lose every sample to decode errors. */
    public int batchesPerEpoch() {
        int n = samples.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /** The sample positions of one epoch, in the order they are batched (a copy; exposed for tests and logs). */
    public int[] order(int epoch) {
        int[] order = new int[samples.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (shuffle) {
            SplitMix64 rng = new SplitMix64(SplitMix64.mix(seed + epoch));
            for (int i = order.length - 1; i > 0; i--) {
                int j = rng.nextInt(0, i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    /** Every file skipped so far (in any epoch), once each, in the order the batches reached the caller. */
    public List<Skipped> skipped() {
        synchronized (skipped) {
            return List.copyOf(skipped.values());
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        EpochRun run;
        synchronized (this) {
            run = current;
        }
        if (run != null) {
            run.cancelAll();
        }
        workers.shutdownNow();
        try {
            // Bounded: a worker inside ImageIO ignores interrupts, but it is a daemon and exits after its sample.
            workers.awaitTermination(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Iterator<Batch> start(int epoch) {
        requireOpen();
        EpochRun run = new EpochRun(epoch);
        EpochRun previous;
        synchronized (this) {
            previous = current;
            current = run;
        }
        if (previous != null) {
            previous.cancelAll();
        }
        run.fill();
        return run;
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the data loader is closed");
        }
    }

    private void record(List<Skipped> skips) {
        for (Skipped s : skips) {
            boolean first;
            synchronized (skipped) {
                first = skipped.putIfAbsent(s.file(), s) == null;
            }
            if (first) {
                LOG.log(System.Logger.Level.WARNING, "skipping image " + s.file() + ": " + s.reason());
            }
        }
    }

    /** The iteration of one epoch: the queue of batch jobs in flight, oldest first. */
    private final class EpochRun implements Iterator<Batch> {
        private final int epoch;
        private final int[] order;
        private final int batchCount;
        private final ArrayDeque<BatchJob> inFlight = new ArrayDeque<>();
        private int started;
        private int taken;
        private Batch ready;
        private volatile boolean abandoned;

        EpochRun(int epoch) {
            this.epoch = epoch;
            this.order = order(epoch);
            this.batchCount = batchesPerEpoch();
        }

        /** Keeps {@code prefetch} batches in preparation beyond the one being taken. */
        void fill() {
            while (started < batchCount && started < taken + prefetch) {
                int from = started * batchSize;
                int to = Math.min(from + batchSize, order.length);
                int[] indices = java.util.Arrays.copyOfRange(order, from, to);
                BatchJob job = new BatchJob(epoch, started, indices, samples, transform, seed);
                synchronized (this) {
                    if (abandoned) {
                        return;
                    }
                    inFlight.add(job);
                }
                started++;
                try {
                    job.start(workers);
                } catch (RejectedExecutionException e) {
                    job.cancel(); // the loader was closed from another thread
                    return;
                }
            }
        }

        synchronized void cancelAll() {
            abandoned = true;
            for (BatchJob job : inFlight) {
                job.cancel();
            }
            inFlight.clear();
        }

        @Override
        public boolean hasNext() {
            while (ready == null && taken < batchCount) {
                checkUsable();
                BatchJob job;
                synchronized (this) {
                    // Peeked, not polled: the job stays where close() can cancel it, which is what wakes us.
                    job = inFlight.peek();
                }
                if (job == null) {
                    checkUsable();
                    throw new IllegalStateException("epoch " + epoch + ": no batch in flight (internal error)");
                }
                taken++;
                fill();
                BatchJob.Result result = await(job);
                synchronized (this) {
                    inFlight.remove(job);
                }
                record(result.skipped());
                ready = result.batch();
            }
            return ready != null;
        }

        @Override
        public Batch next() {
            if (!hasNext()) {
                throw new NoSuchElementException("epoch " + epoch + " has no more batches");
            }
            Batch b = ready;
            ready = null;
            return b;
        }

        private BatchJob.Result await(BatchJob job) {
            try {
                return job.future().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CancellationException("interrupted while waiting for a batch of epoch " + epoch);
            } catch (CancellationException e) {
                checkUsable();
                throw e;
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof DataLoaderException d) {
                    // Rewrapped so the stack trace shows the consumer's call site as well as the worker's.
                    throw new DataLoaderException(d.getMessage(), d);
                }
                throw new DataLoaderException("epoch " + epoch + ": loading failed: " + cause, cause);
            }
        }

        private void checkUsable() {
            requireOpen();
            if (abandoned) {
                throw new IllegalStateException("epoch " + epoch + " was abandoned when another epoch started");
            }
        }
    }

    private static final class WorkerThreads implements ThreadFactory {
        private static final AtomicInteger LOADERS = new AtomicInteger();
        private final int loader = LOADERS.incrementAndGet();
        private final AtomicInteger count = new AtomicInteger();

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new Thread(r, "jresnet-data-" + loader + "-" + count.incrementAndGet());
            t.setDaemon(true); // a loader the caller forgot to close must not keep the JVM alive
            return t;
        }
    }

    public static final class Builder {
        private final List<Sample> samples;
        private final Transform transform;
        private int batchSize = 32;
        private boolean shuffle;
        private boolean dropLast;
        private long seed;
        private int workers = Math.min(4, Runtime.getRuntime().availableProcessors());
        private int prefetch = 2;

        private Builder(List<Sample> samples, Transform transform) {
            this.samples = Objects.requireNonNull(samples, "samples");
            this.transform = Objects.requireNonNull(transform, "transform");
        }

        public Builder batchSize(int batchSize) {
            if (batchSize <= 0) {
                throw new IllegalArgumentException("batch size " + batchSize + " must be positive");
            }
            this.batchSize = batchSize;
            return this;
        }

        /** Shuffle each epoch with seed + epoch (default: off, list order). */
        public Builder shuffle(boolean shuffle) {
            this.shuffle = shuffle;
            return this;
        }

        /** Drop the last batch of an epoch when it would be smaller than the batch size (default: off). */
        public Builder dropLast(boolean dropLast) {
            this.dropLast = dropLast;
            return this;
        }

        /** Seeds the shuffle and every sample's augmentation (default 0). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Worker threads (default min(4, available processors)). */
        public Builder workers(int workers) {
            if (workers <= 0) {
                throw new IllegalArgumentException("worker count " + workers + " must be positive");
            }
            this.workers = workers;
            return this;
        }

        /** Batches prepared ahead of the one the caller holds (default 2). */
        public Builder prefetch(int prefetch) {
            if (prefetch <= 0) {
                throw new IllegalArgumentException("prefetch " + prefetch + " must be positive");
            }
            this.prefetch = prefetch;
            return this;
        }

        public DataLoader build() {
            return new DataLoader(this);
        }
    }
}
