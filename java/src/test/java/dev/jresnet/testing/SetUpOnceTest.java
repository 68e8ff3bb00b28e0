package dev.jresnet.testing;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SetUpOnceTest {
    @Test
    void runsOnceAndAFailureFailsEveryLaterTestWithoutRunningAgain() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        SetUpOnce ok = new SetUpOnce(runs::incrementAndGet);
        ok.run();
        ok.run();
        assertEquals(1, runs.get());

        IOException cause = new IOException("reference script failed");
        SetUpOnce failing = new SetUpOnce(() -> {
            runs.incrementAndGet();
            throw cause;
        });
        assertSame(cause, assertThrows(IOException.class, failing::run));
        AssertionError later = assertThrows(AssertionError.class, failing::run);
        assertSame(cause, later.getCause());
        assertEquals(2, runs.get());
    }

    @Test
    void aSkipIsNotRememberedAsAFailure() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        SetUpOnce s = new SetUpOnce(() -> {
            if (runs.incrementAndGet() == 1) {
                throw new TestAbortedException("no torch yet");
            }
        });
        assertThrows(TestAbortedException.class, s::run);
        s.run();
        s.run();
        assertEquals(2, runs.get());
    }
}
