package dev.jresnet.cpu;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The CPU ops' threads and their one parallel loop. The thread that calls an op works on it, with threads - 1 helper
 * threads of the engine's own (daemons, "jresnet-cpu-N"): threads() is availableProcessors, or the system property
 * {@code jresnet.cpu.threads} when set (1 makes every op sequential, which helps profiling). A bad value of either
 * property makes every loop throw IllegalArgumentException naming it.
 *
 * <p>A helper that finds no loop to help spins for {@code jresnet.cpu.spinMicros} µs (default 100; 0: never) before
 * it parks: a network's ops follow one another within microseconds, and a parked thread took 60-75 µs to join a
 * 400 µs loop (measured on 2 cores), most of a batch-1 layer's time. ResNet-50 at batch 1 1.018-1.023x faster than
 * helpers that park at once (30-300 µs of spinning alike; batch 8 unchanged), 1.019x faster than the
 * {@code ForkJoinPool} this replaced, whose workers parked at once and which ran the caller beside as many workers
 * as cores (three threads on two cores when they spun). An application whose threads need the cores the moment
 * an op ends sets the spin to 0.
 */
public final class Parallel {
    private static String settingError;  // the first bad jresnet.cpu.* property (class initialisation only)
    private static final int THREADS = setting("jresnet.cpu.threads", Runtime.getRuntime().availableProcessors(), 1);
    // How long an idle helper spins before it parks; tests set it to exercise both. Set before the helpers start.
    static volatile long spinNanos = 1000L * setting("jresnet.cpu.spinMicros", 100, 0);
    // Reported by every loop rather than thrown here: a class that fails to initialise reaches a CLI user as a
    // stack trace (ExceptionInInitializerError), and then as NoClassDefFoundError.
    private static final String SETTING_ERROR = settingError;
    // The loops now running, oldest first: a helper takes items from the first that has any left.
    private static final ConcurrentLinkedQueue<Shared> ACTIVE = new ConcurrentLinkedQueue<>();
    private static final Helper[] HELPERS = startHelpers(SETTING_ERROR == null ? THREADS - 1 : 0);

    private Parallel() {}

    /** The integer system property {@code name}, at least {@code least}, else fallback (and the error noted). */
    private static int setting(String name, int fallback, int least) {
        String value = System.getProperty(name);
        if (value == null) {
            return fallback;
        }
        try {
            int v = Integer.parseInt(value.trim());
            if (v >= least) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        if (settingError == null) {
            settingError = name + " must be a whole number of at least " + least + ", found '" + value + "'";
        }
        return Math.max(least, fallback);
    }

    private static void requireSettings() {
        if (SETTING_ERROR != null) {
            throw new IllegalArgumentException(SETTING_ERROR);
        }
    }

    private static Helper[] startHelpers(int n) {
        Helper[] helpers = new Helper[n];
        for (int i = 0; i < n; i++) {
            helpers[i] = new Helper(i + 1);
            helpers[i].start();
        }
        return helpers;
    }

    /** How many threads the ops use. Throws IllegalArgumentException where a jresnet.cpu.* property is bad. */
    public static int threads() {
        requireSettings();
        return THREADS;
    }

    /**
     * Runs body(0) .. body(count-1), in parallel when there is more than one, and returns when all are
     * done; the first exception thrown by a body is rethrown. Bodies must not depend on each other's order. Loops
     * may nest and many threads may call at once: each caller works on its own loop until its items are taken,
     * then waits only for items other threads are running.
     */
    public static void forEach(int count, IntConsumer body) {
        requireSettings();
        if (count <= 0) {
            return;
        }
        if (count == 1 || THREADS == 1) {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
            return;
        }
        Shared job = new Shared(count, body);
        ACTIVE.add(job);
        for (Helper h : HELPERS) {
            if (h.parked) {  // read after the add: a helper that parks now has seen the job first (Helper.run)
                LockSupport.unpark(h);
            }
        }
        try {
            job.run();
        } finally {
            ACTIVE.remove(job);
        }
        job.awaitAll();
    }

    /** The oldest loop with items left, or null. */
    private static Shared pending() {
        for (Shared job : ACTIVE) {
            if (job.hasItems()) {
                return job;
            }
        }
        return null;
    }

    /** A helper thread: takes items of running loops, spins a while when there are none, then parks. */
    private static final class Helper extends Thread {
        private volatile boolean parked;

        Helper(int index) {
            super("jresnet-cpu-" + index);
            setDaemon(true);
        }

        @Override
        public void run() {
            long idleSince = System.nanoTime();
            while (true) {
                Shared job = pending();
                if (job != null) {
                    job.run();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < spinNanos) {
                    Thread.onSpinWait();
                } else {
                    // parked is set before the last look at ACTIVE and read by forEach after it adds a loop, both
                    // volatile: either this look finds the loop or forEach sees parked and unparks (a permit that
                    // outlives a late park).
                    parked = true;
                    if (pending() == null) {
                        LockSupport.park(this);
                    }
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }

    /**
     * The items of one loop handed out in runs of consecutive items, to the calling thread and to helpers alike:
     * the caller starts at once instead of waiting for a helper (measured on 2 cores: ResNet-50 6-8 % faster at
     * batch 1 than the caller blocked in a ForkJoinPool's invoke), and a helper that comes after the last item was
     * taken finds nothing to do and touches nothing. Each run is half a thread's share of what is left
     * (guided scheduling): a thread's items stay mostly consecutive, as a convolution's rows that share weights
     * (6 % faster at batch 1, 10 % at batch 8, than one item at a time), and the last runs are short enough to
     * even out. The caller returns once every item has finished.
     */
    private static final class Shared {
        private final int count;
        private final IntConsumer body;
        private final java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.concurrent.atomic.AtomicInteger finished = new java.util.concurrent.atomic.AtomicInteger();
        private final Thread caller = Thread.currentThread();
        private volatile Throwable failure;

        Shared(int count, IntConsumer body) {
            this.count = count;
            this.body = body;
        }

        boolean hasItems() {
            return next.get() < count;
        }

        /** Takes runs of items and runs them until none are left to take (by the caller and helpers alike). */
        void run() {
            while (true) {
                int lo = next.get();
                if (lo >= count) {
                    return;
                }
                int hi = Math.min(count, lo + Math.max(1, (count - lo) / (2 * threads())));
                if (!next.compareAndSet(lo, hi)) {
                    continue;
                }
                for (int i = lo; i < hi; i++) {
                    try {
                        if (failure == null) {
                            body.accept(i);
                        }
                    } catch (Throwable t) {
                        if (failure == null) {
                            failure = t;
                        }
                    } finally {
                        if (finished.incrementAndGet() == count && Thread.currentThread() != caller) {
                            LockSupport.unpark(caller);
                        }
                    }
                }
            }
        }

        /**
         * Waits for the runs other threads are still in (briefly spinning: most end within microseconds), then
         * rethrows a failure.
         */
        void awaitAll() {
            for (int spins = 0; finished.get() < count; spins++) {
                if (spins < 1 << 10) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);  // the last item's thread unparks the caller
                }
            }
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
        }
    }

    /** A body that handles the indices [lo, hi). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int lo, int hi);
    }

    /**
     * Runs body over [0, count) cut into contiguous ranges of at least minChunk indices (fewer, larger
     * ranges when the work is small), for loops whose items are too cheap to be tasks one by one, such
     * as the 16384 7x7 planes of a batch-8 layer4 batch norm.
     */
    public static void forRanges(int count, int minChunk, RangeBody body) {
        if (count <= 0) {
            return;
        }
        int chunks = Math.max(1, Math.min(4 * threads(), count / Math.max(1, minChunk)));
        int size = (count + chunks - 1) / chunks;
        forEach((count + size - 1) / size, t -> body.run(t * size, Math.min(count, (t + 1) * size)));
    }
}
