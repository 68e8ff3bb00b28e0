package dev.jresnet.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts a main class of the test classpath in a JVM of its own, to kill it (SIGKILL) or let it hold locks. */
public final class ChildJvm {
    private ChildJvm() {}

    /**
     * {@code java --add-modules jdk.incubator.vector -Xmx1g -cp TEST_CLASSPATH mainClass args}, output to
     * {@code log}. Surefire may run the tests from a manifest-only jar; its {@code surefire.test.class.path} holds
     * the real classpath.
     */
    public static Process start(Path log, Class<?> mainClass, String... args) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Xmx1g", "-cp", cp,
                mainClass.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
