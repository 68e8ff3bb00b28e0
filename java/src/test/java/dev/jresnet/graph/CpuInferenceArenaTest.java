package dev.jresnet.graph;

import dev.jresnet.cpu.DirectConv;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.MaxPool;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.TestNets;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fast path reuses its activations across calls: the results must stay the reference's, bit for bit (the direct
 * convolution), or the same bits call after call (the default, with Winograd's layers).
 */
class CpuInferenceArenaTest {
    private final Network net = TestNets.randomBn(Architecture.RESNET18.withClasses(7), 5);
    private final CpuInference fast = new CpuInference(net, DirectConv.available() ? CpuConvolution.direct()
            : CpuConvolution.gemm());

    @Test
    void callsAtDifferentBatchesAndSizesReuseNothingVisible() {
        Tensor a = TestNets.randomInput(2, 40, 1), b = TestNets.randomInput(1, 40, 2), c = TestNets.randomInput(1, 48, 3);
        Tensor wantA = CpuReference.forward(net, a), wantB = CpuReference.forward(net, b);
        Tensor wantC = CpuReference.forward(net, c);
        for (int round = 0; round < 2; round++) {  // the second round runs on arrays the first left dirty
            Tensor gotA = fast.forward(a);
            Tensor gotA2 = fast.forward(a);
            assertNotSame(gotA, gotA2);
            assertArrayEquals(wantA.data(), gotA.data(), "batch 2, round " + round);
            assertArrayEquals(wantA.data(), gotA2.data(), "batch 2 again, round " + round);
            assertArrayEquals(wantB.data(), fast.forward(b).data(), "batch 1, round " + round);
            assertArrayEquals(wantC.data(), fast.forward(c).data(), "48x48, round " + round);
        }
        assertTrue(fast.arenaBytes() > 0);
        // features and logits interleaved: the features returned earlier are not overwritten by a later call
        Tensor f = fast.features(a);
        float[] copy = f.data().clone();
        fast.forward(a);
        assertArrayEquals(copy, f.data(), "a returned tensor is the caller's");
    }

    @Test
    void theDefaultGivesTheSameBitsFromCallToCallAndThreadToThread() throws Exception {
        CpuInference chosen = new CpuInference(net);
        Tensor a = TestNets.randomInput(2, 40, 11), b = TestNets.randomInput(1, 44, 12);
        twoThreadsAtOnce(chosen, a, chosen.forward(a).data(), b, chosen.forward(b).data(), 4);
    }

    @Test
    void twoThreadsAtOnceGetTheReferenceBits() throws Exception {
        Tensor a = TestNets.randomInput(2, 40, 7), b = TestNets.randomInput(1, 44, 8);
        twoThreadsAtOnce(fast, a, CpuReference.forward(net, a).data(), b, CpuReference.forward(net, b).data(), 6);
    }

    /** Two threads run {@code engine} on a and on b at once, {@code rounds} times each: always the wanted bits. */
    private static void twoThreadsAtOnce(CpuInference engine, Tensor a, float[] wantA, Tensor b, float[] wantB,
                                         int rounds) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Callable<Boolean>> jobs = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Tensor x = t == 0 ? a : b;
                float[] want = t == 0 ? wantA : wantB;
                jobs.add(() -> {
                    for (int i = 0; i < rounds; i++) {
                        assertArrayEquals(want, engine.forward(x).data());
                    }
                    return true;
                });
            }
            for (Future<Boolean> f : pool.invokeAll(jobs)) {
                assertTrue(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void theListenerSeesEveryStepOnceAndChangesNoBits() {
        Tensor x = TestNets.randomInput(2, 40, 9);
        List<Integer> seen = new ArrayList<>();
        long[] convs = {0};
        Tensor got = fast.forward(x, (i, step, in, out, nanos) -> {
            seen.add(i);
            assertTrue(nanos >= 0);
            if (step instanceof ConvBn c) {
                convs[0]++;
                assertEquals(c.outChannels(), out.dim(1));
                assertEquals(c.inChannels(), in.dim(1));
            }
            if (step instanceof MaxPool) {
                assertEquals(in.dim(2) / 2, out.dim(2));
            }
            // a forward pass inside the listener gets its own arena and leaves this one alone
            if (i == 3) {
                assertArrayEquals(fast.forward(x).data(), CpuReference.forward(net, x).data());
            }
        });
        assertEquals(fast.spec().steps().size(), seen.size());
        for (int i = 0; i < seen.size(); i++) {
            assertEquals(i, seen.get(i));
        }
        assertTrue(convs[0] > 10);
        assertArrayEquals(CpuReference.forward(net, x).data(), got.data());
    }

    /**
     * Warm repeats (the kernel lab's "alone and warm" times) run each step again into its own output: the result
     * stays the reference's, every step reports one warm time, and the arena holds no more than a plain pass left.
     */
    @Test
    void warmRepeatsChangeNoBitsAndTakeNothingFromTheArena() {
        Tensor x = TestNets.randomInput(2, 40, 11);
        Tensor want = fast.forward(x);
        long bytes = fast.arenaBytes();
        List<Integer> warm = new ArrayList<>();
        StepListener listener = new StepListener() {
            @Override
            public void stepDone(int index, dev.jresnet.nn.Step step, dev.jresnet.tensor.Shape input,
                                 dev.jresnet.tensor.Shape output, long nanos) {
            }

            @Override
            public int warmRepeats() {
                return 3;
            }

            @Override
            public void stepWarm(int index, long nanos) {
                assertTrue(nanos >= 0);
                warm.add(index);
            }
        };
        for (int round = 0; round < 2; round++) {
            Tensor got = fast.forward(x, listener);
            assertArrayEquals(want.data(), got.data(), "round " + round);
            assertArrayEquals(CpuReference.forward(net, x).data(), got.data());
        }
        assertEquals(2 * fast.spec().steps().size(), warm.size());
        for (int i = 0; i < warm.size(); i++) {
            assertEquals(i % fast.spec().steps().size(), warm.get(i));
        }
        assertEquals(bytes, fast.arenaBytes(), "warm repeats must reuse the step's output, not take new arrays");
        assertArrayEquals(want.data(), fast.forward(x).data(), "a plain pass after them");
    }
}
