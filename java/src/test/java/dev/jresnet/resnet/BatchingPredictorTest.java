package dev.jresnet.resnet;

import dev.jresnet.graph.Architecture;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dynamic batcher: coalescing, routing each row back to its caller, back-pressure, cancellation, timeouts, close.
 * Most tests run a stand-in forward pass that a test holds and releases, over a real resnet18 at 32 px (for its
 * preprocessing and top-k); the stand-in answers class = the image's first value, so a mixed-up row shows.
 */
class BatchingPredictorTest {
    static ResNet model;
    static final int S = 32;

    @BeforeAll
    static void build() throws Exception {
        model = ResNet.builder().architecture(Architecture.RESNET18).imageSize(S).device(Device.cpu()).build();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** A forward pass a test holds: each batch waits for a release; logits put 10 at class = the image's [0]. */
    static final class HeldRunner implements BatchingPredictor.BatchRunner {
        final List<List<Integer>> batches = Collections.synchronizedList(new ArrayList<>());
        final java.util.concurrent.Semaphore releases = new java.util.concurrent.Semaphore(0);
        final java.util.concurrent.Semaphore entered = new java.util.concurrent.Semaphore(0);
        volatile boolean fail;

        @Override
        public Tensor run(Tensor batch) {
            int n = batch.dim(0), per = 3 * S * S;
            List<Integer> classes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                classes.add((int) batch.data()[i * per]);
            }
            batches.add(classes);
            entered.release();
            releases.acquireUninterruptibly();
            if (fail) {
                throw new IllegalStateException("stand-in failure");
            }
            Tensor logits = Tensor.zeros(n, 1000);
            for (int i = 0; i < n; i++) {
                logits.data()[i * 1000 + classes.get(i)] = 10;
            }
            return logits;
        }

        void awaitEntered() throws InterruptedException {
            assertTrue(entered.tryAcquire(10, TimeUnit.SECONDS), "the worker never ran a batch");
        }
    }

    /** One preprocessed image [3, S, S] whose first value is {@code cls} (the stand-in's answer). */
    static Tensor image(int cls) {
        Tensor t = Tensor.zeros(3, S, S);
        t.data()[0] = cls;
        t.data()[1] = 0.5f;
        return t;
    }

    static int top1(Future<List<Prediction>> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS).get(0).index();
    }

    @Test
    void coalescesWhatIsQueuedIntoBatchesAndRoutesEachRowToItsCaller() throws Exception {
        HeldRunner runner = new HeldRunner();
        try (BatchingPredictor p = BatchingPredictor.builder(model).runner(runner).maxBatch(8)
                .maxWait(Duration.ofMillis(20)).build()) {
            CompletableFuture<List<Prediction>> first = p.submit(image(999));
            runner.awaitEntered();                     // the first runs alone; the rest queue behind it
            List<CompletableFuture<List<Prediction>>> rest = new ArrayList<>();
            ExecutorService callers = Executors.newFixedThreadPool(4);
            List<Future<CompletableFuture<List<Prediction>>>> submitted = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int cls = 10 + i;
                submitted.add(callers.submit(() -> p.submit(image(cls))));
            }
            for (Future<CompletableFuture<List<Prediction>>> s : submitted) {
                rest.add(s.get());
            }
            callers.shutdown();
            assertEquals(16, p.metrics().queueDepth());
            runner.releases.release(100);
            assertEquals(999, top1(first));
            for (int i = 0; i < 16; i++) {
                assertEquals(10 + i, top1(rest.get(i)), "request " + i + " got another caller's row");
            }
            BatchingPredictor.Metrics m = p.metrics();
            assertEquals(List.of(1, 8, 8), runner.batches.stream().map(List::size).toList());
            assertEquals(1, m.batchSizes()[1]);
            assertEquals(2, m.batchSizes()[8]);
            assertEquals(3, m.batches());
            assertEquals(17, m.images());
            assertEquals(17, m.completed());
            assertEquals(0, m.queueDepth());
            assertTrue(m.p99Millis() >= m.p50Millis() && m.p50Millis() > 0, m.toString());
        }
    }

    @Test
    void aFullQueueRefusesUnderRejectAndBlocksUnderBlock() throws Exception {
        HeldRunner runner = new HeldRunner();
        try (BatchingPredictor p = BatchingPredictor.builder(model).runner(runner).maxBatch(1).queueCapacity(2)
                .overflow(BatchingPredictor.Overflow.REJECT).build()) {
            CompletableFuture<List<Prediction>> a = p.submit(image(1));
            runner.awaitEntered();
            CompletableFuture<List<Prediction>> b = p.submit(image(2)), c = p.submit(image(3));
            RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> p.submit(image(4)));
            assertTrue(e.getMessage().contains("queue is full") && e.getMessage().contains("queueCapacity 2"),
                    e.getMessage());
            assertEquals(1, p.metrics().rejected());
            runner.releases.release(100);
            assertEquals(1, top1(a));
            assertEquals(2, top1(b));
            assertEquals(3, top1(c));
        }
        HeldRunner held = new HeldRunner();
        try (BatchingPredictor p = BatchingPredictor.builder(model).runner(held).maxBatch(1).queueCapacity(1)
                .build()) {
            p.submit(image(1));
            held.awaitEntered();
            p.submit(image(2));
            CompletableFuture<CompletableFuture<List<Prediction>>> blocked =
                    CompletableFuture.supplyAsync(() -> p.submit(image(3)));
            Thread.sleep(200);
            assertFalse(blocked.isDone(), "submit should wait for space under Overflow.BLOCK");
            held.releases.release(100);
            assertEquals(3, top1(blocked.get(10, TimeUnit.SECONDS)));
        }
    }

    @Test
    void cancelledAndTimedOutRequestsAreDroppedBeforeTheyRun() throws Exception {
        HeldRunner runner = new HeldRunner();
        try (BatchingPredictor p = BatchingPredictor.builder(model).runner(runner).maxBatch(4).build()) {
            CompletableFuture<List<Prediction>> a = p.submit(image(1));
            runner.awaitEntered();
            CompletableFuture<List<Prediction>> cancelled = p.submit(image(2));
            CompletableFuture<List<Prediction>> late = p.submit(image(3), Duration.ofMillis(50));
            CompletableFuture<List<Prediction>> d = p.submit(image(4));
            assertTrue(cancelled.cancel(true));
            ExecutionException e = assertThrows(ExecutionException.class, () -> late.get(10, TimeUnit.SECONDS));
            assertInstanceOf(TimeoutException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("timed out after 50 ms (still queued"),
                    e.getCause().getMessage());
            runner.releases.release(100);
            assertEquals(1, top1(a));
            assertEquals(4, top1(d));
            assertEquals(List.of(List.of(1), List.of(4)), runner.batches, "only live requests run");
            assertThrows(CancellationException.class, cancelled::join);
            BatchingPredictor.Metrics m = p.metrics();
            assertEquals(1, m.cancelled());
            assertEquals(1, m.timedOut());
        }
    }

    @Test
    void closeRunsQueuedWorkUntilItsDeadlineThenFailsTheRestAndRefusesMore() throws Exception {
        HeldRunner runner = new HeldRunner();
        BatchingPredictor p = BatchingPredictor.builder(model).runner(runner).maxBatch(1).build();
        CompletableFuture<List<Prediction>> a = p.submit(image(1));
        runner.awaitEntered();
        CompletableFuture<List<Prediction>> b = p.submit(image(2)), c = p.submit(image(3));
        CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> p.close(Duration.ofMillis(100)));
        Thread.sleep(300);                       // the deadline passes while the first batch still runs
        assertThrows(RejectedExecutionException.class, () -> p.submit(image(4)));
        runner.releases.release(100);
        closing.get(10, TimeUnit.SECONDS);
        assertEquals(1, top1(a), "the running batch finishes");
        for (CompletableFuture<List<Prediction>> f : List.of(b, c)) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(1, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("closed before this request ran"), e.getMessage());
        }
        assertEquals(List.of(List.of(1)), runner.batches);

        HeldRunner free = new HeldRunner();
        free.releases.release(100);
        BatchingPredictor q = BatchingPredictor.builder(model).runner(free).maxBatch(2).build();
        List<CompletableFuture<List<Prediction>>> queued = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            queued.add(q.submit(image(i)));
        }
        q.close();                               // within the deadline: everything queued runs
        for (int i = 0; i < 5; i++) {
            assertEquals(i, top1(queued.get(i)));
        }
    }

    @Test
    void aBlockedSubmitterIsReleasedByClose() throws Exception {
        HeldRunner runner = new HeldRunner();
        BatchingPredictor p = BatchingPredictor.builder(model).runner(runner).maxBatch(1).queueCapacity(1).build();
        p.submit(image(1));
        runner.awaitEntered();
        p.submit(image(2));
        CompletableFuture<CompletableFuture<List<Prediction>>> blocked =
                CompletableFuture.supplyAsync(() -> p.submit(image(3)));
        Thread.sleep(100);
        CompletableFuture<Void> closing = CompletableFuture.runAsync(p::close);
        ExecutionException e = assertThrows(ExecutionException.class, () -> blocked.get(10, TimeUnit.SECONDS));
        assertInstanceOf(RejectedExecutionException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
        runner.releases.release(100);
        closing.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aFailedBatchFailsItsOwnRequestsOnlyAndTheWorkerGoesOn() throws Exception {
        HeldRunner runner = new HeldRunner();
        try (BatchingPredictor p = BatchingPredictor.builder(model).runner(runner).maxBatch(4).build()) {
            runner.fail = true;
            CompletableFuture<List<Prediction>> a = p.submit(image(1));
            runner.awaitEntered();
            runner.releases.release();
            ExecutionException e = assertThrows(ExecutionException.class, () -> a.get(10, TimeUnit.SECONDS));
            assertEquals("stand-in failure", e.getCause().getMessage());
            runner.fail = false;
            runner.releases.release(100);
            assertEquals(7, top1(p.submit(image(7))));
            assertEquals(1, p.metrics().failed());
        }
    }

    @Test
    void inputsOfAnotherShapeOrNotFiniteAreRefusedAtSubmit() {
        try (BatchingPredictor p = model.batching().build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.submit(Tensor.zeros(3, 224, 224)));
            assertTrue(e.getMessage().contains("[3, 224, 224]") && e.getMessage().contains("[n, 3, 32, 32]"),
                    e.getMessage());
            Tensor nan = image(1);
            nan.data()[5] = Float.NaN;
            assertThrows(IllegalArgumentException.class, () -> p.submit(nan));
            assertThrows(IllegalArgumentException.class, () -> p.submit(Tensor.zeros(2, 3, S, S)));
            assertEquals(8, p.maxBatch(), "the CPU default");
            assertEquals(64, p.queueCapacity());
        }
    }

    @Test
    void theRealModelGivesEachConcurrentCallerItsOwnLogitsInFewerBatches() throws Exception {
        int threads = 6;
        Random rnd = new Random(7);
        List<Tensor> inputs = new ArrayList<>();
        for (int i = 0; i < threads * 2; i++) {
            Tensor t = Tensor.zeros(1, 3, S, S);
            for (int j = 0; j < t.size(); j++) {
                t.data()[j] = (float) rnd.nextGaussian();
            }
            inputs.add(t);
        }
        try (BatchingPredictor p = model.batching().maxBatch(8).maxWait(Duration.ofMillis(200)).build()) {
            CyclicBarrier start = new CyclicBarrier(threads);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<float[][]>> results = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                Tensor in = inputs.get(i);
                boolean wait = i < threads;
                results.add(pool.submit(() -> {
                    if (wait) {
                        start.await();
                    }
                    return p.submitLogits(in).get(60, TimeUnit.SECONDS);
                }));
            }
            for (int i = 0; i < inputs.size(); i++) {
                float[] expected = model.logits(inputs.get(i))[0];
                assertArrayEquals(expected, results.get(i).get()[0], 1e-4f, "image " + i);
            }
            pool.shutdown();
            BatchingPredictor.Metrics m = p.metrics();
            assertEquals(inputs.size(), m.images());
            assertTrue(m.batches() < inputs.size(), "no batch formed: " + m);
        }
    }
}
