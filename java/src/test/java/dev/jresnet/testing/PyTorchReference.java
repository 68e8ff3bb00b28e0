package dev.jresnet.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the Python scripts of {@code weights/reference/} with a Python that has torch, torchvision and PIL
 * (Debian's python3-torch by default; override with the system property {@code jresnet.python} or the JRESNET_PYTHON
 * environment variable; the mutation profile points the property nowhere, to measure the tests without PyTorch).
 * Where that Python is missing the calling test is skipped with the reason, unless the system property
 * {@code jresnet.requireTorch} is true (as in CI), where it fails instead: CI must never skip these.
 */
public final class PyTorchReference {
    private static volatile String unavailableReason;
    private static volatile boolean checked;

    private PyTorchReference() {}

    public static String python() {
        String prop = System.getProperty("jresnet.python");
        if (prop != null && !prop.isBlank()) {
            return prop;
        }
        String env = System.getenv("JRESNET_PYTHON");
        return env != null && !env.isBlank() ? env : "/usr/bin/python3";
    }

    /** The project root (the folder holding weights/ and java/), found from the working directory. */
    public static Path projectRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.isDirectory(p.resolve("weights/reference")) && Files.isDirectory(p.resolve("java"))) {
                return p;
            }
            p = p.getParent();
        }
        throw new IllegalStateException("cannot find the project root above " + Path.of("").toAbsolutePath());
    }

    /** A scratch folder for files that tests generate (ignored by git), created if needed. */
    public static Path scratch(String name) throws IOException {
        Path dir = projectRoot().resolve("java/target/reference").resolve(name);
        Files.createDirectories(dir);
        return dir;
    }

    /** Skips (or, with -Djresnet.requireTorch=true, fails) the current test unless torch can be imported. */
    public static void assumeAvailable() {
        if (!checked) {
            synchronized (PyTorchReference.class) {
                if (!checked) {
                    unavailableReason = probe();
                    checked = true;
                }
            }
        }
        if (unavailableReason != null) {
            String msg = "PyTorch reference unavailable: " + unavailableReason
                    + " (install Debian's python3-torch python3-torchvision python3-pil, or run ./run-tests)";
            if (Boolean.getBoolean("jresnet.requireTorch")) {
                throw new AssertionError(msg);
            }
            Assumptions.assumeTrue(false, msg);
        }
    }

    private static String probe() {
        try {
            Result r = exec(List.of(python(), "-c", "import torch, torchvision, PIL; print(torch.__version__)"), 120);
            return r.exitCode == 0 ? null : python() + " cannot import torch/torchvision/PIL: " + r.output.strip();
        } catch (IOException e) {
            return python() + " not runnable: " + e.getMessage();
        }
    }

    /** Runs {@code weights/reference/SCRIPT args...}; fails the test with the script's output if it exits non-zero. */
    public static String run(String script, String... args) throws IOException {
        assumeAvailable();
        List<String> cmd = new ArrayList<>();
        cmd.add(python());
        cmd.add(projectRoot().resolve("weights/reference").resolve(script).toString());
        cmd.addAll(List.of(args));
        Result r = exec(cmd, 900);
        if (r.exitCode != 0) {
            throw new AssertionError("reference script failed (exit " + r.exitCode + "): " + cmd + "\n" + r.output);
        }
        return r.output;
    }

    private record Result(int exitCode, String output) {}

    private static Result exec(List<String> cmd, int timeoutSeconds) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "2");
        Process p = pb.start();
        byte[] out;
        try {
            out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out after " + timeoutSeconds + " s: " + cmd);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + cmd, e);
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
