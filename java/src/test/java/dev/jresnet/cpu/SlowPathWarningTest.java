package dev.jresnet.cpu;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * An application without {@code --add-modules jdk.incubator.vector} is told once, as a System.Logger warning, that
 * the CPU engine runs its plain kernel, what that costs and how to fix it; with the flag, or with the plain kernel
 * chosen on purpose, nothing is said.
 */
class SlowPathWarningTest {

    /** Uses the kernel twice, as an application would; the warning must appear once. */
    public static final class App {
        public static void main(String[] args) {
            float[] a = new float[64 * 64], b = new float[64 * 64], c = new float[64 * 64];
            Gemm.gemm(64, 64, 64, a, 0, 64, b, 0, 64, c, 0, 64, false);
            Gemm.gemm(64, 64, 64, a, 0, 64, b, 0, 64, c, 0, 64, false);
            System.out.println("kernel " + Gemm.kernelName());
        }
    }

    private static String run(String... jvmOptions) throws IOException, InterruptedException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-Xmx256m", "-cp", cp, App.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("JDK_JAVA_OPTIONS"); // the fix the warning names must not be in effect already
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    private static int count(String haystack, String needle) {
        int n = 0;
        for (int i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void withoutTheFlagTheWarningComesOnceWithTheFixAndTheCost() throws Exception {
        String out = run();
        assertTrue(out.contains("kernel plain"), out);
        assertEquals(1, count(out, Gemm.SLOW_PATH_WARNING), out);
        assertTrue(out.contains("WARNING"), "logged at WARNING through System.Logger: " + out);
        assertTrue(Gemm.SLOW_PATH_WARNING.contains("--add-modules jdk.incubator.vector"));
        assertTrue(Gemm.SLOW_PATH_WARNING.contains("JDK_JAVA_OPTIONS=--add-modules=jdk.incubator.vector"));
        assertTrue(Gemm.SLOW_PATH_WARNING.contains("20x slower"));
    }

    @Test
    void withTheFlagOrThePlainKernelChosenNothingIsSaid() throws Exception {
        String fast = run("--add-modules", "jdk.incubator.vector");
        assertTrue(fast.contains("kernel vector"), fast);
        assertFalse(fast.contains("plain Java kernel"), fast);
        String plain = run("-Djresnet.cpu.kernel=plain");
        assertTrue(plain.contains("kernel plain"), plain);
        assertFalse(plain.contains("plain Java kernel"), plain);
    }

    @Test
    void theChoiceLogsOnlyWhenAutoFallsBack() {
        List<String> logged = new ArrayList<>();
        System.Logger log = new System.Logger() {
            @Override public String getName() { return "test"; }
            @Override public boolean isLoggable(Level level) { return true; }
            @Override public void log(Level level, ResourceBundle b, String msg, Throwable t) { logged.add(level + " " + msg); }
            @Override public void log(Level level, ResourceBundle b, String format, Object... params) { logged.add(level + " " + format); }
        };
        Gemm.choose("auto", true, log);
        Gemm.choose("plain", false, log);
        assertEquals(List.of(), logged);
        assertEquals("plain", Gemm.choose("auto", false, log).name());
        assertEquals(List.of("WARNING " + Gemm.SLOW_PATH_WARNING), logged);
    }
}
