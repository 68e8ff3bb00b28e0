package dev.jresnet.cpu;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The one parallel loop: every item once, all finished on return, failures rethrown, nesting and many callers. */
class ParallelTest {

    @Test
    void everyItemRunsOnceAndHasFinishedOnReturn() {
        for (int count : new int[] {2, 3, 17, 1000}) {
            AtomicIntegerArray runs = new AtomicIntegerArray(count);
            AtomicIntegerArray done = new AtomicIntegerArray(count);
            Parallel.forEach(count, i -> {
                runs.incrementAndGet(i);
                if (i % 5 == 0) {
                    spin(200_000);  // a slow item: the caller must wait for it, not return early
                }
                done.set(i, 1);
            });
            for (int i = 0; i < count; i++) {
                assertEquals(1, runs.get(i), "item " + i + " of " + count);
                assertEquals(1, done.get(i), "item " + i + " of " + count + " had not finished on return");
            }
        }
    }

    @Test
    void theCallerWorksToo() {
        Thread caller = Thread.currentThread();
        ConcurrentHashMap<Thread, Boolean> threads = new ConcurrentHashMap<>();
        Parallel.forEach(64, i -> {
            threads.put(Thread.currentThread(), true);
            spin(100_000);
        });
        assertTrue(threads.containsKey(caller), "the calling thread took items: " + threads.keySet());
    }

    @Test
    void aFailureIsRethrownAfterTheOthersFinish() {
        IllegalStateException boom = new IllegalStateException("item 7");
        AtomicInteger running = new AtomicInteger();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Parallel.forEach(40, i -> {
            running.incrementAndGet();
            try {
                if (i == 7) {
                    throw boom;
                }
                spin(50_000);
            } finally {
                running.decrementAndGet();
            }
        }));
        assertSame(boom, e);
        assertEquals(0, running.get(), "no item may still run once forEach has thrown");
    }

    @Test
    void nestedLoopsAndConcurrentCallers() throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try {
            Future<?>[] f = new Future<?>[8];
            long[] sums = new long[f.length];
            for (int c = 0; c < f.length; c++) {
                int caller = c;
                f[c] = callers.submit(() -> {
                    AtomicInteger sum = new AtomicInteger();
                    Parallel.forEach(10, i -> Parallel.forEach(10, j -> sum.addAndGet(i * 10 + j)));
                    sums[caller] = sum.get();
                });
            }
            for (int c = 0; c < f.length; c++) {
                f[c].get();
                assertEquals(4950, sums[c], "caller " + c);
            }
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void parkedHelpersWakeForTheNextLoop() throws Exception {
        assumeTrue(Parallel.threads() > 1, "one thread: no helpers");
        long spin = Parallel.spinNanos;
        Parallel.spinNanos = 0;  // idle helpers park at once: each loop below must unpark them
        try {
            Thread caller = Thread.currentThread();
            int helped = 0;
            for (int round = 0; round < 20; round++) {
                Thread.sleep(2);
                AtomicInteger byHelpers = new AtomicInteger();
                AtomicIntegerArray runs = new AtomicIntegerArray(64);
                Parallel.forEach(64, i -> {
                    runs.incrementAndGet(i);
                    if (Thread.currentThread() != caller) {
                        byHelpers.incrementAndGet();
                    }
                    spin(50_000);
                });
                for (int i = 0; i < 64; i++) {
                    assertEquals(1, runs.get(i), "item " + i + " in round " + round);
                }
                helped += byHelpers.get() > 0 ? 1 : 0;
            }
            assertTrue(helped >= 10, "a parked helper joined only " + helped + " of 20 loops of 3.2 ms");
        } finally {
            Parallel.spinNanos = spin;
        }
    }

    @Test
    void aBadSettingIsOneErrorFromEveryLoopNotAFailedClass() throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String setting : new String[] {"jresnet.cpu.spinMicros=-1", "jresnet.cpu.threads=0",
                "jresnet.cpu.spinMicros=lots"}) {
            Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-D" + setting, "-Xmx64m", "-cp", cp, BadSetting.class.getName()))
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), setting);
            String name = setting.substring(0, setting.indexOf('=')), value = setting.substring(name.length() + 1);
            String error = "IllegalArgumentException: " + name + " must be a whole number of at least "
                    + (name.endsWith("threads") ? 1 : 0) + ", found '" + value + "'";
            assertEquals(error + "\n" + error, out, setting);
        }
    }

    /** Runs two loops in a child JVM and prints what each threw. */
    static final class BadSetting {
        public static void main(String[] args) {
            for (int i = 0; i < 2; i++) {
                try {
                    Parallel.forEach(4, k -> { });
                    System.out.println("ran");
                } catch (RuntimeException e) {
                    System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
                }
            }
        }
    }

    private static void spin(long nanos) {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    }
}
