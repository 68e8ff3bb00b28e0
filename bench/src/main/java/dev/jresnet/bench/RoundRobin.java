package dev.jresnet.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Times several tasks in turns: each turn runs every task once, so noise from the rest of the machine (another
 * process waking up, thermal throttling, a busy neighbour on a shared host) falls on all of them alike rather
 * than on whichever happened to be measured during it. The first task of a turn rotates, so that no task always
 * follows the same neighbour (whose caches or lingering threads it would inherit).
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
     * Warms up for {@code warmupSeconds} of wall time (always at least one turn: the first run of each task
     * carries one-off costs, JIT compilation and allocation, that no steady-state figure should include), then
     * times turns until {@code seconds} of wall time have passed and at least {@link #MIN_TURNS} turns are done.
     * Returns, per task in the given order, the seconds of each timed run.
     */
    static List<double[]> run(List<Task> tasks, double warmupSeconds, double seconds, Progress progress)
            throws Exception {
        int n = tasks.size();
        long start = System.nanoTime();
        int turn = 0;
        do {
            for (int i = 0; i < n; i++) {
                tasks.get((turn + i) % n).run(turn == 0);
            }
            turn++;
        } while ((System.nanoTime() - start) / 1e9 < warmupSeconds);
        progress.say(String.format(java.util.Locale.ROOT, "warm-up: %d turns in %.1f s", turn,
                (System.nanoTime() - start) / 1e9));

        List<List<Double>> samples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            samples.add(new ArrayList<>());
        }
        start = System.nanoTime();
        turn = 0;
        do {
            for (int i = 0; i < n; i++) {
                int t = (turn + i) % n;
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
}
