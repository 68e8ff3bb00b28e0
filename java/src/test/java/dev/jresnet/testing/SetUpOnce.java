package dev.jresnet.testing;

import org.opentest4j.TestAbortedException;

/**
 * A test class's expensive set-up, run by the first test that needs it (from {@code @BeforeEach}) instead of in
 * {@code @BeforeAll}: surefire shows a skip in {@code @BeforeAll} as "Tests run: 0", reason lost, while a skip in
 * {@code @BeforeEach} is counted per test with its reason. A set-up that failed is not run again: every later
 * test fails with its error (the PyTorch references take minutes to make).
 */
public final class SetUpOnce {
    /** The set-up's work. */
    public interface Step {
        void run() throws Exception;
    }

    private final Step step;
    private boolean done;
    private Throwable failure;

    public SetUpOnce(Step step) {
        this.step = step;
    }

    public synchronized void run() throws Exception {
        if (failure != null) {
            throw new AssertionError("the class's set-up failed in an earlier test: " + failure, failure);
        }
        if (done) {
            return;
        }
        try {
            step.run();
            done = true;
        } catch (TestAbortedException skip) {
            throw skip;   // a skip is not a failure: the next test asks again
        } catch (Exception | Error e) {
            failure = e;
            throw e;
        }
    }
}
