package dev.jresnet.dist;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A finished child process: exit status, stdout, stderr. */
record Proc(int exit, String out, String err) {

    /** Runs {@code command} in {@code dir} with the JRESNET_* variables of this JVM removed and {@code env} added. */
    static Proc run(Path dir, Map<String, String> env, List<String> command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("JRESNET_"));
        pb.environment().putAll(env);
        Path out = Files.createTempFile("proc", ".out");
        Path err = Files.createTempFile("proc", ".err");
        try {
            pb.redirectOutput(out.toFile()).redirectError(err.toFile());
            Process p = pb.start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + command);
            }
            return new Proc(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Sources {@code envScript} under {@code set -euo pipefail}, then prints the named variables, one per line. */
    static Proc source(Path envScript, Map<String, String> env, String... variables)
            throws IOException, InterruptedException {
        StringBuilder script = new StringBuilder("set -euo pipefail; . \"$0\"; ");
        for (String v : variables) {
            script.append("printf '%s\\n' \"").append(v).append("=${").append(v).append(":-}\"; ");
        }
        return run(envScript.getParent(), env, List.of("bash", "-c", script.toString(), envScript.toString()));
    }

    /** The value of {@code name} in {@link #source}'s output. */
    String var(String name) {
        return out.lines().filter(l -> l.startsWith(name + "=")).map(l -> l.substring(name.length() + 1))
                .findFirst().orElseThrow(() -> new AssertionError(name + " not printed:\n" + this));
    }

    @Override
    public String toString() {
        return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
}
