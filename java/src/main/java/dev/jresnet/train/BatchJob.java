package dev.jresnet.train;

import dev.jresnet.image.ImageDecodeException;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One batch being loaded: a task per sample on the worker pool, and the task that finishes last
 * assembles the batch, so assembly also runs off the consumer's thread and needs no extra scheduling.
 * Results are placed by position, never by completion order, which is what makes batches identical
 * whatever the thread count or timing.
 */
final class BatchJob {
    /** What a finished job hands the consumer: the batch (null if every sample was skipped) and the skips, in sample order. */
    record Result(Batch batch, List<Skipped> skipped) {}

    private final int epoch;
    private final int batchIndex;
    private final int[] sampleIndices;
    private final List<Sample> samples;
    private final Transform transform;
    private final long seed;
    private final Object[] results;
    private final AtomicInteger remaining;
    private final CompletableFuture<Result> future = new CompletableFuture<>();
    private volatile boolean cancelled;

    BatchJob(int epoch, int batchIndex, int[] sampleIndices, List<Sample> samples, Transform transform, long seed) {
        this.epoch = epoch;
        this.batchIndex = batchIndex;
        this.sampleIndices = sampleIndices;
        this.samples = samples;
        this.transform = transform;
        this.seed = seed;
        this.results = new Object[sampleIndices.length];
        this.remaining = new AtomicInteger(sampleIndices.length);
    }

    CompletableFuture<Result> future() {
        return future;
    }

    void start(Executor workers) {
        for (int slot = 0; slot < sampleIndices.length; slot++) {
            int s = slot;
            workers.execute(() -> runSlot(s));
        }
    }

    /** Stops samples that have not started yet and fails the future with a CancellationException. */
    void cancel() {
        cancelled = true;
        future.cancel(false);
    }

    private void runSlot(int slot) {
        Object r;
        if (cancelled) {
            r = null;
        } else {
            try {
                r = load(sampleIndices[slot]);
            } catch (Throwable t) { // also Errors: the consumer must hear of them, not wait forever
                r = t;
            }
        }
        results[slot] = r;
        // The atomic decrement publishes every slot's write to the thread that reaches zero.
        if (remaining.decrementAndGet() == 0 && !cancelled) {
            try {
                future.complete(assemble());
            } catch (Throwable t) {
                future.completeExceptionally(t);
            }
        }
    }

    private Object load(int index) {
        Sample sample = samples.get(index);
        RgbImage image;
        try {
            image = ImageDecoder.decode(sample.file());
        } catch (ImageDecodeException e) {
            return new Skipped(sample.file(), e.reason());
        } catch (OutOfMemoryError e) {
            // one photo too big for this heap (under the pixel bound, which the heap may not hold): its arrays are
            // garbage now, the others still load; said like classify says it
            return new Skipped(sample.file(), "not enough memory to read it (" + e.getMessage()
                    + "); raise -Xmx (JRESNET_XMX)");
        }
        try {
            // Seeded by (seed, epoch, index), never by a shared generator: the draws cannot depend on which
            // thread ran first, and a sample's augmentation does not depend on the shuffle.
            Tensor t = transform.apply(image, SplitMix64.derive(seed, epoch, index));
            if (t == null) {
                throw new IllegalStateException("the transform returned null");
            }
            return t;
        } catch (RuntimeException | Error e) {
            throw new DataLoaderException(where(index) + ": the transform failed: " + e, e);
        }
    }

    private Result assemble() {
        List<Skipped> skipped = new ArrayList<>();
        List<Integer> good = new ArrayList<>();
        Shape shape = null;
        int first = -1;
        for (int slot = 0; slot < results.length; slot++) {
            Object r = results[slot];
            if (r instanceof Throwable t) {
                if (t instanceof DataLoaderException d) {
                    throw d;
                }
                throw new DataLoaderException(where(sampleIndices[slot]) + ": " + t, t);
            } else if (r instanceof Skipped s) {
                skipped.add(s);
            } else {
                Tensor t = (Tensor) r;
                if (shape == null) {
                    shape = t.shape();
                    first = slot;
                } else if (!shape.equals(t.shape())) {
                    throw new DataLoaderException(where(sampleIndices[slot]) + ": the transform gave shape " + t.shape()
                            + " but " + samples.get(sampleIndices[first]).file() + " in the same batch gave " + shape, null);
                }
                good.add(slot);
            }
        }
        if (good.isEmpty()) {
            return new Result(null, skipped);
        }
        int[] dims = new int[shape.rank() + 1];
        dims[0] = good.size();
        System.arraycopy(shape.dims(), 0, dims, 1, shape.rank());
        int per = shape.size();
        float[] data = new float[Math.multiplyExact(per, good.size())];
        int[] labels = new int[good.size()];
        List<Path> files = new ArrayList<>(good.size());
        for (int i = 0; i < good.size(); i++) {
            int slot = good.get(i);
            Sample sample = samples.get(sampleIndices[slot]);
            System.arraycopy(((Tensor) results[slot]).data(), 0, data, i * per, per);
            labels[i] = sample.label();
            files.add(sample.file());
            results[slot] = null; // let the per-sample tensor go before the consumer gets the batch
        }
        return new Result(new Batch(new Tensor(Shape.of(dims), data), labels, files), skipped);
    }

    private String where(int index) {
        Sample s = samples.get(index);
        return "epoch " + epoch + ", batch " + batchIndex + ", sample " + index + " (" + s.file() + ", label "
                + s.label() + ")";
    }
}
