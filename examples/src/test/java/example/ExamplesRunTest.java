package example;

import dev.jresnet.cuda.CudaAvailability;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Runs the README's examples as a user would, from the checkout's root (they read samples/), each in a JVM of its
 * own started with this project's classpath and the option the README tells users to pass.
 */
class ExamplesRunTest {

    static String run(Class<?> example) throws IOException, InterruptedException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Xmx2g", "-cp", cp, example.getName());
        Process p = new ProcessBuilder(cmd).directory(ReadmeExamplesTest.ROOT.toFile()).redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), example.getSimpleName() + " did not finish");
        assertEquals(0, p.exitValue(), example.getSimpleName() + " failed:\n" + out);
        assertFalse(out.contains("plain Java kernel"), "the CPU fast path must be on:\n" + out);
        return out;
    }

    @Test
    void classify() throws Exception {
        String out = run(Classify.class);
        assertTrue(out.contains("resnet50"), out);
        assertTrue(out.lines().filter(l -> l.matches("\\s*\\d+ .+ \\d\\.\\d{3}")).count() == 5, "five classes:\n" + out);
    }

    @Test
    void batch() throws Exception {
        String out = run(Batch.class);
        assertTrue(out.contains(" | logits 3x1000 | features 3x2048 | "), out);
    }

    @Test
    void similarity() throws Exception {
        String out = run(Similarity.class);
        assertEquals(6, out.lines().filter(l -> l.matches("\\S+ ~ \\S+: -?\\d\\.\\d{3}")).count(), out);
    }

    @Test
    @Tag("gpu")
    void gpu() throws Exception {
        CudaAvailability.Status s = CudaAvailability.backendStatus();
        if (!s.usable()) {
            assertFalse(Boolean.getBoolean("jresnet.requireGpu"), "no usable GPU: " + s.reason());
            Assumptions.abort("no usable GPU: " + s.reason());
        }
        String out = run(Gpu.class);
        assertTrue(out.contains("fp16"), out);
        assertTrue(out.contains(" 2048"), out);
    }
}
