package dev.jresnet.cpu;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bad {@code -Djresnet.cpu.kernel} is an IllegalStateException naming the property, on every use: not an
 * ExceptionInInitializerError the first time and a NoClassDefFoundError after (which the CLI showed as a stack trace).
 */
class BadKernelPropertyTest {

    public static final class App {
        public static void main(String[] args) {
            for (int i = 0; i < 2; i++) {
                try {
                    Gemm.kernelName();
                    System.out.println("no error");
                } catch (IllegalStateException e) {
                    System.out.println("ISE " + e.getMessage());
                }
            }
        }
    }

    @Test
    void everyUseSaysWhichPropertyIsWrong() throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Djresnet.cpu.kernel=vector-9x9", "-Xmx256m", "-cp", cp,
                App.class.getName())).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        List<String> lines = out.lines().filter(l -> l.startsWith("ISE ") || l.equals("no error")).toList();
        assertEquals(2, lines.size(), out);
        for (String l : lines) {
            assertTrue(l.startsWith("ISE jresnet.cpu.kernel=vector-9x9: no ") && l.contains("tile \"9x9\"; known: "), l);
        }
    }
}
