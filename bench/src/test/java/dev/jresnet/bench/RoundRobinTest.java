package dev.jresnet.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The order of runs in turns: every turn runs each task once; for 2 or 3 tasks each follows each other equally. */
class RoundRobinTest {
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7})
    void everyTurnRunsEachTaskOnce(int n) {
        for (int turn = 0; turn < 30; turn++) {
            boolean[] seen = new boolean[n];
            for (int i = 0; i < n; i++) {
                int t = RoundRobin.order(n, turn, i);
                assertTrue(t >= 0 && t < n && !seen[t], "turn " + turn + " of " + n + " tasks runs " + t + " twice");
                seen[t] = true;
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 5, 7})
    void overNMinusOneTurnsEachTaskFollowsEachOtherOnceAndNeverItself(int n) {
        int[][] follows = new int[n][n];   // [before][after], runs read as one sequence across turns
        int previous = RoundRobin.order(n, n - 2, n - 1);  // the run before turn 0, in the cycle
        for (int turn = 0; turn < n - 1; turn++) {
            for (int i = 0; i < n; i++) {
                int t = RoundRobin.order(n, turn, i);
                follows[previous][t]++;
                previous = t;
            }
        }
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                assertEquals(a == b ? 0 : 1, follows[a][b], n + " tasks: " + b + " after " + a + ", "
                        + Arrays.deepToString(follows));
            }
        }
    }

    @Test
    void runTimesTheTasksInThatOrderAndReturnsTheirSamplesInTheGivenOrder() throws Exception {
        List<Integer> ran = new ArrayList<>();
        List<RoundRobin.Task> tasks = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            int id = k;
            tasks.add(first -> {
                ran.add(id);
                return id + 1.0;
            });
        }
        List<double[]> times = RoundRobin.run(tasks, 0, 0, m -> { });
        // one warm-up turn (order of turn 0), then RoundRobin.MIN_TURNS timed turns, counted from turn 0 again
        assertEquals(List.of(0, 1, 2, 0, 1, 2, 0, 2, 1), ran);
        for (int k = 0; k < 3; k++) {
            double[] want = new double[RoundRobin.MIN_TURNS];
            Arrays.fill(want, k + 1.0);
            assertArrayEquals(want, times.get(k), 0);
        }
    }

    /** The warm-up goes on for its seconds after a first turn that took longer than all of them (a cold JIT). */
    @Test
    void warmUpSecondsCountFromTheEndOfTheFirstTurn() throws Exception {
        List<Boolean> firsts = new ArrayList<>();
        RoundRobin.Task slowFirst = first -> {
            firsts.add(first);
            Thread.sleep(first ? 300 : 10);
            return 0.01;
        };
        List<double[]> times = RoundRobin.run(List.of(slowFirst), 0.2, 0, m -> { });
        assertEquals(RoundRobin.MIN_TURNS, times.get(0).length);
        int warmUps = firsts.size() - RoundRobin.MIN_TURNS;
        // 0.2 s of 10 ms runs after the 300 ms one: about 20 (sleep never returns early); before, the first alone
        assertTrue(warmUps >= 6 && warmUps <= 22, warmUps + " warm-up runs");
        assertEquals(List.of(true), firsts.subList(0, 1));
        assertFalse(firsts.subList(1, firsts.size()).contains(true));
    }
}
