package dev.jresnet.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Times several tasks in turns: each turn runs every task once, so noise from the rest of the machine (another
 * process waking up, thermal throttling, a busy neighbour on a shared host) falls on all of them alike rather
 * than on whichever happened to be measured during it. The order within a turn changes from turn to turn so that
 * each task follows each other task equally often (it inherits its predecessor's caches, memory traffic and
 * lingering threads): see {@link #order}.
 */
final class RoundRobin {
    /** At least this many timed turns, so that the spread (stddev) is defined even for a very short --seconds. */
    static final int MIN_TURNS = 2;

    /** One unit of work; returns the seconds it took, as the task measures them. */
    @FunctionalInterface
    interface Task {
        /** {@code first} is true exactly once per task: on its first warm-up run. */
        double run(boolean first) throws Exception;
    }

    /** Something to tell the user while a long run goes on (stderr in the CLI). */
    @FunctionalInterface
    interface Progress {
        void say(String message);
    }

    private RoundRobin() {}

    /**
     * Warms up with one turn (the first run of each task carries one-off costs, class loading, JIT compilation,
     * allocation, a peer's session set-up, that no steady-state figure should include), then with turns for
     * {@code warmupSeconds} of wall time after it: a cold first turn can outlast the whole warm-up (jresnet's first
     * ResNet-50 pass at batch 1 takes 4-6 s on the Vector API's interpreted path), and the JIT goes on compiling after
     * it (the next second of passes ran 20 % slower than steady state, measured). Then times turns until
     * {@code seconds} of wall time have passed and at least {@link #MIN_TURNS} turns are done. Returns, per task in
     * the given order, the seconds of each timed run.
     */
    static List<double[]> run(List<Task> tasks, double warmupSeconds, double seconds, Progress progress)
            throws Exception {
        int n = tasks.size();
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            tasks.get(order(n, 0, i)).run(true);
        }
        long afterFirst = System.nanoTime();
        int turn = 1;
        while ((System.nanoTime() - afterFirst) / 1e9 < warmupSeconds) {
            for (int i = 0; i < n; i++) {
                tasks.get(order(n, turn, i)).run(false);
            }
            turn++;
        }
        progress.say(String.format(java.util.Locale.ROOT, "warm-up: %d turns in %.1f s (the first %.1f s)", turn,
                (System.nanoTime() - start) / 1e9, (afterFirst - start) / 1e9));

        List<List<Double>> samples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            samples.add(new ArrayList<>());
        }
        start = System.nanoTime();
        turn = 0;
        do {
            for (int i = 0; i < n; i++) {
                int t = order(n, turn, i);
                samples.get(t).add(tasks.get(t).run(false));
            }
            turn++;
        } while (turn < MIN_TURNS || (System.nanoTime() - start) / 1e9 < seconds);
        progress.say(String.format(java.util.Locale.ROOT, "timed: %d turns in %.1f s", turn,
                (System.nanoTime() - start) / 1e9));

        List<double[]> out = new ArrayList<>();
        for (List<Double> s : samples) {
            out.add(s.stream().mapToDouble(Double::doubleValue).toArray());
        }
        return out;
    }

    /**
     * The task run {@code i}-th in turn {@code turn} of {@code n} tasks. For a prime n (2, 3: the whole-model bench
     * with one or two peers) turn t steps through the tasks by k = 1 + t mod (n-1): 0, k, 2k, ... mod n. Read as one
     * sequence of runs, turn after turn, every run then follows the run k before it in the cycle (the turn's last,
     * -k, is followed by the next turn's first, 0), so n-1 turns make each ordered pair of tasks adjacent exactly
     * once and no task follows itself: with 3 engines, jresnet follows ONNX Runtime and PyTorch equally often,
     * where rotating the first task had it follow the same one in 2 turns of 3. Otherwise the first task rotates.
     */
    static int order(int n, int turn, int i) {
        if (isPrime(n)) {
            int k = 1 + turn % (n - 1);
            return (int) ((long) i * k % n);
        }
        return (turn + i) % n;
    }

    private static boolean isPrime(int n) {
        if (n < 2) {
            return false;
        }
        for (int d = 2; d * d <= n; d++) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }
}
