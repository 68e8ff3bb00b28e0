package dev.jresnet.cuda;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The native tools the tests of native/ call (nvcc, gcc): where they are, what to do where one is missing,
 * and running one.
 */
final class Toolchain {
    private Toolchain() {}

    /**
     * The executable from environment variable {@code envVar} if set, else the first of {@code fixedPaths}
     * that is executable, else {@code name} on PATH; null if none.
     */
    static String find(String envVar, String name, String... fixedPaths) {
        String env = System.getenv(envVar);
        if (env != null && !env.isBlank()) {
            return env;
        }
        for (String p : fixedPaths) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                    return Path.of(dir, name).toString();
                }
            }
        }
        return null;
    }

    /**
     * Skips the test with {@code reason}, or fails it where system property {@code requireProperty} is true
     * (CI sets it: a check that CI skips is no check).
     */
    static void missing(String reason, String requireProperty) {
        if (Boolean.getBoolean(requireProperty)) {
            fail(reason + " (and -D" + requireProperty + "=true)");
        }
        abort(reason);
    }

    /** Null if {@code tool} (an answer of {@link #find}) can be run, else why not, in a few words. */
    static String whyMissing(String tool, String envVar, String name) {
        if (tool == null) {
            return name + " not found (set " + envVar + ", or put " + name + " on PATH)";
        }
        if (Path.of(tool).isAbsolute() && !Files.isExecutable(Path.of(tool))) {
            return name + " not found (" + tool + " is not executable)";
        }
        return null;
    }

    /** The tool {@link #find} found, or a skip (or failure) saying that {@code purpose} was not checked. */
    static String require(String envVar, String name, String requireProperty, String purpose, String... fixedPaths) {
        String tool = find(envVar, name, fixedPaths);
        String why = whyMissing(tool, envVar, name);
        if (why != null) {
            missing(why + ": " + purpose + " not checked", requireProperty);
        }
        return tool;
    }

    /** Runs {@code cmd}; fails with its output unless it exits 0 within {@code timeoutSeconds}. */
    static String run(List<String> cmd, long timeoutSeconds, String what) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            fail(what + ": " + cmd.get(0) + " did not finish in " + timeoutSeconds + " s\n" + output);
        }
        assertEquals(0, p.exitValue(), () -> what + " failed:\n" + String.join(" ", cmd) + "\n" + output);
        return output;
    }
}
