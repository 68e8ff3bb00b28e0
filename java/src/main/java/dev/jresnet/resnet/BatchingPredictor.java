package dev.jresnet.resnet;

import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Dynamic batching over one {@link ResNet}: any number of threads submit single images or small batches, one worker
 * thread coalesces what is queued into batches of at most {@code maxBatch} images, waiting at most {@code maxWait}
 * after the oldest for more to come, runs each batch as one forward pass, and completes every caller's future with
 * its own rows. A model is far more efficient on batches (the GPU above all), while servers receive images one at a
 * time; this is Triton's and TorchServe's dynamic batcher, in the engine.
 *
 * <pre>{@code
 * try (ResNet model = ResNet.load(weights, Device.auto());
 *      BatchingPredictor predictor = model.batching().maxBatch(8).maxWait(Duration.ofMillis(5)).build()) {
 *     CompletableFuture<List<Prediction>> top5 = predictor.submit(image);   // from any thread
 * }
 * }</pre>
 *
 * <p>The queue is bounded ({@code queueCapacity} images): a full queue blocks the submitting thread
 * ({@link Overflow#BLOCK}, the default) or refuses the request at once with a {@link RejectedExecutionException}
 * ({@link Overflow#REJECT}). A request past its timeout completes with a {@link TimeoutException}; a cancelled or timed
 * out request still queued is dropped before it runs. {@link #close()} stops accepting, runs what is queued until the
 * drain timeout, then fails the rest: no future is left incomplete. One worker suffices: the CPU engine spreads a
 * batch over every core, and the CUDA engine wants one stream fed with large batches.
 */
public final class BatchingPredictor implements AutoCloseable {
    /** What {@code submit} does when the queue is full. */
    public enum Overflow {
        /** Wait for space (up to the request's timeout). */
        BLOCK,
        /** Throw {@link RejectedExecutionException} at once. */
        REJECT
    }

    /** One forward pass: a batch [n, 3, S, S] to logits [n, classes]. The model's, or a test's stand-in. */
    interface BatchRunner {
        Tensor run(Tensor batch);
    }

    /** The end of the queue: put there by close, after which nothing more is accepted. */
    private static final Request<Void> POISON = new Request<>(null, 0, 0, null, null);

    private final ResNet model;
    private final BatchRunner runner;
    private final int maxBatch;
    private final long maxWaitNanos;
    private final int queueCapacity;
    private final Overflow overflow;
    private final Duration timeout;
    private final int topK;
    private final Duration drainTimeout;
    private final int inputSize;
    private final int perImage;

    private final LinkedBlockingQueue<Request<?>> queue = new LinkedBlockingQueue<>();
    /** Images the queue may still take; the worker gives them back as it takes requests out. */
    private final Semaphore space;
    private final Object lock = new Object();
    private final Thread worker;
    private final ExecutorService finisher;
    private final ScheduledThreadPoolExecutor timer;
    private final PredictorStats stats;
    private volatile boolean accepting = true;
    /** Set when the drain timeout of close passed: the worker fails what it takes instead of running it. */
    private volatile boolean failing;
    private boolean closed;

    private BatchingPredictor(Builder b) {
        this.model = b.model;
        this.runner = b.runner != null ? b.runner : model::forward;
        this.maxBatch = b.maxBatch;
        this.maxWaitNanos = b.maxWait.toNanos();
        this.queueCapacity = b.queueCapacity;
        this.overflow = b.overflow;
        this.timeout = b.timeout;
        this.topK = b.topK;
        this.drainTimeout = b.drainTimeout;
        this.inputSize = model.inputSize();
        this.perImage = 3 * inputSize * inputSize;
        this.space = new Semaphore(queueCapacity);
        this.stats = new PredictorStats(maxBatch);
        this.timer = new ScheduledThreadPoolExecutor(1, daemon("jresnet-batch-timeouts"));
        timer.setRemoveOnCancelPolicy(true);
        // Softmax and top-k of a finished batch run here, so the worker starts the next batch at once.
        this.finisher = Executors.newSingleThreadExecutor(daemon("jresnet-batch-results"));
        this.worker = daemon("jresnet-batcher").newThread(this::work);
        worker.start();
    }

    /** A builder over {@code model}; the defaults depend on its device (see {@link Builder}). */
    public static Builder builder(ResNet model) {
        return new Builder(Objects.requireNonNull(model, "model"));
    }

    /** The top-k classes (the builder's {@code topK}, default 5) of one image, preprocessed on the calling thread. */
    public CompletableFuture<List<Prediction>> submit(RgbImage image) {
        return submit(image, timeout);
    }

    /** As {@link #submit(RgbImage)}, with its own timeout (null: none). */
    public CompletableFuture<List<Prediction>> submit(RgbImage image, Duration timeout) {
        Objects.requireNonNull(image, "image");
        Tensor chw = model.preprocess(image);   // [3, S, S], on the caller's thread: the worker only runs batches
        return enqueue(chw.data(), 1, logits -> model.topK(logits, topK).get(0), timeout);
    }

    /** The top-k classes of one preprocessed image, [3, S, S] or [1, 3, S, S] (S = the model's input size). */
    public CompletableFuture<List<Prediction>> submit(Tensor image) {
        return submit(image, timeout);
    }

    /** As {@link #submit(Tensor)}, with its own timeout (null: none). */
    public CompletableFuture<List<Prediction>> submit(Tensor image, Duration timeout) {
        int n = checkInput(image);
        if (n != 1) {
            throw new IllegalArgumentException("submit takes one image, [3, " + inputSize + ", " + inputSize
                    + "] or [1, 3, " + inputSize + ", " + inputSize + "], found " + image.shape()
                    + ": use submitAll or submitLogits for a batch");
        }
        return enqueue(image.data(), 1, logits -> model.topK(logits, topK).get(0), timeout);
    }

    /** The top-k classes of each image, in order; the images stay together in one batch. */
    public CompletableFuture<List<List<Prediction>>> submitAll(List<RgbImage> images) {
        Objects.requireNonNull(images, "images");
        Tensor batch = model.preprocess(images);
        return enqueue(batch.data(), images.size(), logits -> model.topK(logits, topK), timeout);
    }

    /**
     * The logits ([n][classes]) of a preprocessed batch [n, 3, S, S] (or one image [3, S, S]), run within one batch;
     * a request larger than {@code maxBatch} runs alone. Its data is read when its batch forms: leave it unchanged
     * until the future completes.
     */
    public CompletableFuture<float[][]> submitLogits(Tensor batch) {
        return submitLogits(batch, timeout);
    }

    /** As {@link #submitLogits(Tensor)}, with its own timeout (null: none). */
    public CompletableFuture<float[][]> submitLogits(Tensor batch, Duration timeout) {
        int n = checkInput(batch);
        int classes = model.architecture().numClasses();
        return enqueue(batch.data(), n, logits -> {
            float[][] rows = new float[n][classes];
            for (int i = 0; i < n; i++) {
                System.arraycopy(logits.data(), i * classes, rows[i], 0, classes);
            }
            return rows;
        }, timeout);
    }

    /** Images in the input: [3, S, S] is 1, [n, 3, S, S] is n; anything else, or a non-finite value, is refused. */
    private int checkInput(Tensor t) {
        Objects.requireNonNull(t, "input");
        boolean one = t.rank() == 3, many = t.rank() == 4;
        int off = one ? 0 : 1;
        if (!(one || many) || t.dim(off) != 3 || t.dim(off + 1) != inputSize || t.dim(off + 2) != inputSize
                || many && t.dim(0) < 1) {
            throw new IllegalArgumentException("input must be [n, 3, " + inputSize + ", " + inputSize + "] or [3, "
                    + inputSize + ", " + inputSize + "] (preprocessed for this model), found " + t.shape());
        }
        t.requireFinite("input");
        return one ? 1 : t.dim(0);
    }

    private <T> CompletableFuture<T> enqueue(float[] data, int n, Function<Tensor, T> finish, Duration timeout) {
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        long submitted = System.nanoTime();
        Request<T> r = new Request<>(data, n, submitted, finish, new CompletableFuture<>());
        int permits = Math.min(n, queueCapacity);  // a request larger than the queue still gets in, alone
        if (!accepting) {
            throw closedRejection();
        }
        acquire(permits, timeout, r);
        if (r.future.isDone()) {
            return r.future;   // timed out while waiting for space
        }
        synchronized (lock) {
            if (!accepting) {
                space.release(permits);
                throw closedRejection();
            }
            stats.queued(n);
            if (timeout != null) {
                long nanos = timeout.toNanos() - (System.nanoTime() - submitted);
                ScheduledFuture<?> task = timer.schedule(() -> timeOut(r, timeout), Math.max(0, nanos),
                        TimeUnit.NANOSECONDS);
                r.future.whenComplete((v, e) -> task.cancel(false));
            }
            queue.add(r);
        }
        return r.future;
    }

    /** Takes queue space for a request: blocks (BLOCK, up to the timeout) or refuses at once (REJECT). */
    private void acquire(int permits, Duration timeout, Request<?> r) {
        if (overflow == Overflow.REJECT) {
            if (!space.tryAcquire(permits)) {
                stats.rejected();
                throw new RejectedExecutionException("the batching queue is full (" + queueCapacity + " images "
                        + "waiting, queueCapacity " + queueCapacity + "): retry later, or raise queueCapacity or "
                        + "choose Overflow.BLOCK");
            }
            return;
        }
        try {
            if (timeout == null) {
                space.acquire(permits);
            } else if (!space.tryAcquire(permits, timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                stats.timedOut();
                r.future.completeExceptionally(new TimeoutException("request timed out after "
                        + timeout.toMillis() + " ms waiting for space in the full batching queue (queueCapacity "
                        + queueCapacity + "): raise the timeout or queueCapacity, or lower the load"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RejectedExecutionException("interrupted while waiting for space in the full batching queue");
        }
    }

    private RejectedExecutionException closedRejection() {
        return new RejectedExecutionException("this BatchingPredictor is closed: it accepts no more requests");
    }

    private void timeOut(Request<?> r, Duration timeout) {
        if (r.future.completeExceptionally(new TimeoutException("request timed out after " + timeout.toMillis()
                + " ms (" + (r.started ? "its batch was running" : "still queued, " + stats.queueDepth()
                + " images in the queue") + "): raise the timeout, or lower the load"))) {
            stats.timedOut();
        }
    }

    /** The worker: take, coalesce, run, until the poison pill. */
    private void work() {
        Request<?> carry = null;
        while (true) {
            Request<?> first = carry != null ? carry : take();
            carry = null;
            if (first == POISON) {
                return;
            }
            if (dropped(first)) {
                continue;
            }
            List<Request<?>> batch = new ArrayList<>();
            batch.add(first);
            int n = first.n;
            // Wait for more until maxWait after the oldest request was submitted, or until the batch is full.
            long deadline = first.submitted + maxWaitNanos;
            while (n < maxBatch) {
                Request<?> r = poll(deadline - System.nanoTime());
                if (r == null) {
                    break;
                }
                if (r != POISON && dropped(r)) {
                    continue;
                }
                if (r == POISON || n + r.n > maxBatch) {
                    carry = r;   // the next batch's first (or the end, after this batch)
                    break;
                }
                batch.add(r);
                n += r.n;
            }
            if (failing) {
                batch.forEach(this::failClosed);
                continue;
            }
            run(batch, n);
        }
    }

    private Request<?> take() {
        while (true) {
            try {
                return released(queue.take());
            } catch (InterruptedException e) {
                // The worker is ended only by the poison pill, so that no queued request is forgotten.
            }
        }
    }

    private Request<?> poll(long nanos) {
        try {
            return released(nanos > 0 ? queue.poll(nanos, TimeUnit.NANOSECONDS) : queue.poll());
        } catch (InterruptedException e) {
            return null;
        }
    }

    /** A request taken out of the queue gives its space back. */
    private Request<?> released(Request<?> r) {
        if (r != null && r != POISON) {
            space.release(Math.min(r.n, queueCapacity));
            stats.dequeued(r.n);
        }
        return r;
    }

    /** True when the request was cancelled or timed out while queued: it is dropped without running. */
    private boolean dropped(Request<?> r) {
        if (r.future.isCancelled()) {
            stats.cancelled();
        }
        if (failing && !r.future.isDone()) {
            failClosed(r);
        }
        return r.future.isDone();
    }

    private void run(List<Request<?>> batch, int n) {
        Tensor input = Tensor.zeros(n, 3, inputSize, inputSize);   // [n, 3, S, S]
        int at = 0;
        for (Request<?> r : batch) {
            r.started = true;
            System.arraycopy(r.data, 0, input.data(), at, r.n * perImage);
            at += r.n * perImage;
        }
        Tensor logits;
        try {
            logits = runner.run(input);                              // [n, classes]
        } catch (Throwable e) {
            for (Request<?> r : batch) {
                if (r.future.completeExceptionally(e)) {
                    stats.failed();
                }
            }
            return;
        }
        stats.batch(n);
        try {
            finisher.execute(() -> finish(batch, logits));
        } catch (RejectedExecutionException e) {
            finish(batch, logits);
        }
    }

    /** Hands each request its rows of logits [n, classes], through its own finishing step (top-k, rows). */
    private void finish(List<Request<?>> batch, Tensor logits) {
        int classes = logits.dim(1), row = 0;
        for (Request<?> r : batch) {
            float[] own = new float[r.n * classes];
            System.arraycopy(logits.data(), row * classes, own, 0, own.length);
            row += r.n;
            r.complete(new Tensor(Shape.of(r.n, classes), own), stats);
        }
    }

    private void failClosed(Request<?> r) {
        if (r.future.completeExceptionally(new RejectedExecutionException("the BatchingPredictor closed before "
                + "this request ran: its drain timeout (" + drainTimeout.toMillis() + " ms) passed with the request "
                + "still queued"))) {
            stats.failed();
        }
    }

    /** Queue depth, batches run, the histogram of batch sizes and latency percentiles over the recent requests. */
    public Metrics metrics() {
        return stats.snapshot();
    }

    /** The largest batch this predictor forms. */
    public int maxBatch() {
        return maxBatch;
    }

    /** How long the worker waits after the oldest queued request for more to come. */
    public Duration maxWait() {
        return Duration.ofNanos(maxWaitNanos);
    }

    /** Images the queue holds at most before {@code submit} blocks or refuses. */
    public int queueCapacity() {
        return queueCapacity;
    }

    /** The model this predictor runs. */
    public ResNet model() {
        return model;
    }

    /** {@link #close(Duration)} with the builder's drain timeout (default 30 s). */
    @Override
    public void close() {
        close(drainTimeout);
    }

    /**
     * Stops accepting requests (submit throws {@link RejectedExecutionException}, threads blocked for space too),
     * runs what is queued for at most {@code drain}, then fails what is still queued with a
     * RejectedExecutionException saying so; returns once the batch running then has finished and every future is
     * complete. It does not close the model. Idempotent.
     */
    public void close(Duration drain) {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            accepting = false;
            queue.add(POISON);
        }
        space.release(Integer.MAX_VALUE / 2);   // wakes blocked submitters: they see the predictor closed
        try {
            worker.join(Math.max(1, drain.toMillis()));
            if (worker.isAlive()) {
                failing = true;
                List<Request<?>> left = new ArrayList<>();
                queue.drainTo(left);
                left.stream().filter(r -> r != POISON).forEach(this::failClosed);
                queue.add(POISON);
                worker.join();
            }
            finisher.shutdown();
            finisher.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            timer.shutdownNow();
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** A caller's images, its future, and how its rows of logits become its result. */
    private static final class Request<T> {
        final float[] data;            // [n, 3, S, S] row-major
        final int n;
        final long submitted;          // System.nanoTime()
        final Function<Tensor, T> finish;
        final CompletableFuture<T> future;
        volatile boolean started;

        Request(float[] data, int n, long submitted, Function<Tensor, T> finish, CompletableFuture<T> future) {
            this.data = data;
            this.n = n;
            this.submitted = submitted;
            this.finish = finish;
            this.future = future;
        }

        void complete(Tensor logits, PredictorStats stats) {
            try {
                T value = finish.apply(logits);
                // Counted before the caller can see the result, so that metrics() agrees with the futures joined.
                stats.completed(System.nanoTime() - submitted);
                if (!future.complete(value)) {
                    stats.notCompleted();  // cancelled or timed out meanwhile: counted as such
                }
            } catch (Throwable e) {
                if (future.completeExceptionally(e)) {
                    stats.failed();
                }
            }
        }
    }

    /**
     * A snapshot of the predictor's state. {@code queueDepth}: images waiting; {@code completed}, {@code failed},
     * {@code timedOut}, {@code cancelled}, {@code rejected}: requests so far; {@code images} and {@code batches}: run
     * so far; {@code batchSizes}: batches run per size (index = images in the batch, 0 unused; a request larger
     * than maxBatch counts in the last slot); latency from submit to completion over the last
     * {@code latencyWindow} completed requests, in milliseconds (0 before any).
     */
    public record Metrics(int queueDepth, long completed, long failed, long timedOut, long cancelled, long rejected,
                          long images, long batches, long[] batchSizes, double p50Millis, double p90Millis,
                          double p99Millis, int latencyWindow) {
        /** Images per batch on average (0 before any batch). */
        public double meanBatchSize() {
            return batches == 0 ? 0 : (double) images / batches;
        }
    }

    /**
     * Settings of a {@link BatchingPredictor}. Defaults: on the CPU maxBatch 8 and maxWait 5 ms (the engine already
     * spreads one image over every core, so larger batches gain little, and 5 ms is a few percent of one resnet50
     * pass), on CUDA maxBatch 32 and maxWait 2 ms (a GPU needs large batches; a pass takes milliseconds);
     * queueCapacity 8 x maxBatch, Overflow.BLOCK, no timeout, top 5, drain timeout 30 s.
     */
    public static final class Builder {
        private final ResNet model;
        private int maxBatch;
        private Duration maxWait;
        private int queueCapacity = -1;
        private Overflow overflow = Overflow.BLOCK;
        private Duration timeout;
        private int topK;
        private Duration drainTimeout = Duration.ofSeconds(30);
        private BatchRunner runner;

        private Builder(ResNet model) {
            this.model = model;
            boolean gpu = model.device().kind() == Device.Kind.CUDA;
            this.maxBatch = gpu ? 32 : 8;
            this.maxWait = Duration.ofMillis(gpu ? 2 : 5);
            this.topK = Math.min(5, model.architecture().numClasses());
        }

        /** The most images in one batch (>= 1; 1 turns batching off: one request at a time). */
        public Builder maxBatch(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxBatch must be >= 1, got " + n);
            }
            this.maxBatch = n;
            return this;
        }

        /** How long the oldest queued request may wait for others to fill its batch (>= 0). */
        public Builder maxWait(Duration d) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException("maxWait must be zero or positive, got " + d);
            }
            this.maxWait = d;
            return this;
        }

        /** Images the queue holds before submit blocks or refuses (default 8 x maxBatch). */
        public Builder queueCapacity(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("queueCapacity must be >= 1, got " + n);
            }
            this.queueCapacity = n;
            return this;
        }

        /** BLOCK (default) waits for space, REJECT throws RejectedExecutionException when the queue is full. */
        public Builder overflow(Overflow o) {
            this.overflow = Objects.requireNonNull(o, "overflow");
            return this;
        }

        /** Every request's timeout unless it gives its own (null, the default: none). */
        public Builder timeout(Duration d) {
            if (d != null && (d.isNegative() || d.isZero())) {
                throw new IllegalArgumentException("timeout must be positive, got " + d);
            }
            this.timeout = d;
            return this;
        }

        /** Classes each {@code submit} returns (default 5, or every class of a model with fewer). */
        public Builder topK(int k) {
            int classes = model.architecture().numClasses();
            if (k < 1 || k > classes) {
                throw new IllegalArgumentException("topK must be in 1.." + classes + ", got " + k);
            }
            this.topK = k;
            return this;
        }

        /** How long {@link BatchingPredictor#close()} runs queued requests before failing the rest (default 30 s). */
        public Builder drainTimeout(Duration d) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException("drainTimeout must be zero or positive, got " + d);
            }
            this.drainTimeout = d;
            return this;
        }

        /** Tests: a stand-in for the forward pass. */
        Builder runner(BatchRunner r) {
            this.runner = r;
            return this;
        }

        public BatchingPredictor build() {
            if (queueCapacity < 0) {
                queueCapacity = Math.multiplyExact(8, maxBatch);
            }
            model.inputSize();   // refuses a closed model here, not in the worker
            return new BatchingPredictor(this);
        }
    }
}
