package dev.jresnet.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The property every fuzz target checks: on any input, the code under test either returns a result (which the target
 * then checks for consistency) or throws one of its documented exception types, with a message, within
 * {@link #SECONDS_PER_INPUT}. Anything else (an unchecked exception, OutOfMemoryError under the fuzz JVM's 512 MB
 * heap, StackOverflowError, a slower input) escapes as a Throwable, which Jazzer reports as a finding and saves as
 * src/test/resources/dev/jresnet/fuzz/CLASSInputs/METHOD/crash-SHA1 (a regression test from then on).
 */
public final class Hostile {
    /**
     * Per input: far above what a valid seed takes (milliseconds; seconds on a shared 2-core machine at load 10),
     * far below a hang. Not JUnit's @Timeout: in fuzzing mode Jazzer runs the whole campaign as ONE invocation,
     * which @Timeout would cut short.
     */
    public static final long SECONDS_PER_INPUT = Long.getLong("fuzz.inputSeconds", 10);
    /** The first input of a JVM also pays for class loading and a cold JIT (seconds on a busy 2-core machine). */
    private static final long FIRST_INPUT_FACTOR = 3;
    private static boolean warm;

    /** One scratch folder per JVM, its file rewritten for each input: the readers under test take paths. */
    private static Path scratch;
    /** The thread inputs run on, so that a hang can be timed; replaced when one overruns (it is left spinning). */
    private static ExecutorService worker = newWorker();

    private Hostile() {}

    @FunctionalInterface
    public interface Reader<T> {
        T read(Path file) throws Exception;
    }

    @FunctionalInterface
    public interface Call<T> {
        T call() throws Exception;
    }

    /**
     * A scratch folder of this JVM, in its working directory (target/fuzz-cwd, see pom.xml), so that what the CLI
     * target's commands write goes away with mvn clean.
     */
    public static synchronized Path scratch() {
        try {
            if (scratch == null) {
                scratch = Files.createTempDirectory(Path.of("").toAbsolutePath(), "scratch-");
                scratch.toFile().deleteOnExit();
            }
            return scratch;
        } catch (IOException e) {
            throw new UncheckedIOException("fuzz harness: cannot make a scratch folder", e);
        }
    }

    /** {@code data} written to the scratch file {@code name} (its extension may steer a reader). */
    public static Path file(String name, byte[] data) {
        try {
            Path f = scratch().resolve(name);
            Files.write(f, data);
            f.toFile().deleteOnExit();
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException("fuzz harness: cannot write the scratch file", e);
        }
    }

    /**
     * Runs {@code reader} on {@code file}; returns its result, or null when it threw one of {@code documented}
     * (whose message must be non-blank: it is all a user gets).
     */
    @SafeVarargs
    public static <T> T read(Path file, Reader<T> reader, Class<? extends Exception>... documented) throws Exception {
        return call(() -> reader.read(file), documented);
    }

    /** {@link #read} for code that takes no file. */
    @SafeVarargs
    public static <T> T call(Call<T> call, Class<? extends Exception>... documented) throws Exception {
        try {
            return bounded(call);
        } catch (Exception e) {
            if (Arrays.stream(documented).noneMatch(c -> c.isInstance(e))) {
                throw e;
            }
            if (e.getMessage() == null || e.getMessage().isBlank()) {
                throw new AssertionError("documented exception without a message: " + e, e);
            }
            return null;
        }
    }

    /** Fails the input (a finding) when a returned result is inconsistent. */
    public static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("inconsistent result: " + what);
        }
    }

    /** Runs {@code call} on the worker thread; what it throws comes out here, as is. */
    private static <T> T bounded(Call<T> call) throws Exception {
        Future<T> f = worker.submit(call::call);
        long limit = warm ? SECONDS_PER_INPUT : FIRST_INPUT_FACTOR * SECONDS_PER_INPUT;
        try {
            T result = f.get(limit, TimeUnit.SECONDS);
            warm = true;
            return result;
        } catch (TimeoutException e) {
            // Abandoned, not interrupted: an interrupt can land in class loading (an interruptible channel reading the
            // jar) and poison that class for the rest of the JVM (NoClassDefFoundError in later inputs).
            worker.shutdown();
            worker = newWorker();
            throw new AssertionError("input took over " + limit + " s (a hang, or work unbounded by the input's size)");
        } catch (ExecutionException e) {
            warm = true;
            Throwable cause = e.getCause();
            if (cause instanceof Exception ex) {
                throw ex;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new AssertionError(cause);
        }
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-input");
            t.setDaemon(true);
            return t;
        });
    }
}
