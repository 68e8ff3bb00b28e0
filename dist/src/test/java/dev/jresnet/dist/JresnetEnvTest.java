package dev.jresnet.dist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * bin/jresnet-env (its source, dist/src/bin/jresnet-env) in a checkout: the classpaths `mvn package` makes, and
 * the CUDA library search, on folders of empty files named like the libraries.
 */
class JresnetEnvTest {
    static final Path CHECKOUT = Path.of(System.getProperty("jresnet.checkout", "..")).toAbsolutePath().normalize();
    static final Path ENV = CHECKOUT.resolve("dist/src/bin/jresnet-env");
    /** Everything but the driver, which must come from the system. */
    static final List<String> LIBS = List.of("libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcudnn.so.9",
            "libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9", "libcudnn_adv.so.9",
            "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9", "libcudnn_heuristic.so.9",
            "libnvrtc.so.13", "libnvrtc-builtins.so.13");
    static final String[] VARS = {"JRESNET_HOME", "JRESNET_LAYOUT", "JRESNET_JAVA", "JRESNET_CLASSPATH",
            "JRESNET_TEST_CLASSPATH", "JRESNET_JUNIT", "JRESNET_JAVA_OPTS_DEFAULT", "JRESNET_CUDA_FOUND",
            "JRESNET_CUDA_MISSING", "LD_LIBRARY_PATH"};

    @Test
    void checkoutLayoutGivesTheBuiltClasspaths() throws Exception {
        Proc p = Proc.source(ENV, Map.of("JRESNET_HOME", CHECKOUT.toString()), VARS);
        assertEquals(0, p.exit(), p.toString());
        assertEquals("", p.err(), "silent unless JRESNET_ENV_VERBOSE=1");
        assertEquals("checkout", p.var("JRESNET_LAYOUT"));
        List<String> cp = entries(p.var("JRESNET_CLASSPATH"));
        assertEquals(CHECKOUT.resolve("java/target/jresnet.jar").toString(), cp.get(0));
        assertTrue(cp.contains(CHECKOUT.resolve("bench/target/jresnet-bench.jar").toString()), cp.toString());
        assertTrue(cp.stream().anyMatch(e -> e.matches(".*/java/target/lib/javacpp-[^/]*-linux-x86_64\\.jar")), cp.toString());
        List<String> tcp = entries(p.var("JRESNET_TEST_CLASSPATH"));
        assertTrue(tcp.containsAll(cp), "the test classpath holds the main one");
        assertTrue(tcp.contains(CHECKOUT.resolve("java/target/test-classes").toString()), tcp.toString());
        assertTrue(tcp.contains(CHECKOUT.resolve("bench/target/test-classes").toString()), tcp.toString());
        assertTrue(tcp.stream().anyMatch(e -> e.contains("onnxruntime")), "test-scope jars from test-classpath.txt");
        assertFalse(tcp.stream().anyMatch(e -> e.contains("junit-jupiter")), "JUnit comes from JRESNET_JUNIT only");
        for (String e : tcp) {
            assertTrue(Files.exists(Path.of(e)), e);
        }
        assertTrue(p.var("JRESNET_JUNIT").matches(".*/java/target/tools/junit-platform-console-standalone-1\\.14\\.[0-9]+\\.jar"),
                p.var("JRESNET_JUNIT"));
        assertTrue(Files.isExecutable(Path.of(p.var("JRESNET_JAVA"))), p.var("JRESNET_JAVA"));
        assertTrue(p.var("JRESNET_JAVA_OPTS_DEFAULT").matches("--add-modules jdk.incubator.vector "
                + "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -Xmx[0-9]+m"), p.var("JRESNET_JAVA_OPTS_DEFAULT"));
    }

    @Test
    void theDefaultHomeOfTheSourceCopyIsTheCheckout() throws Exception {
        Proc p = Proc.source(ENV, Map.of("JRESNET_XMX", "3g"), VARS);
        assertEquals(CHECKOUT.toString(), p.var("JRESNET_HOME"));
        assertTrue(p.var("JRESNET_JAVA_OPTS_DEFAULT").endsWith(" -Xmx3g"), p.var("JRESNET_JAVA_OPTS_DEFAULT"));
    }

    @Test
    void findsTheLibrariesOnLdLibraryPath(@TempDir Path dir) throws Exception {
        Path libs = Files.createDirectories(dir.resolve("cuda libs"));
        for (String lib : LIBS) {
            Files.createFile(libs.resolve(lib.equals("libnvrtc-builtins.so.13") ? lib + ".1" : lib));
        }
        Proc p = Proc.source(ENV, Map.of("JRESNET_HOME", CHECKOUT.toString(), "LD_LIBRARY_PATH", libs.toString()), VARS);
        assertEquals(0, p.exit(), p.toString());
        String found = p.var("JRESNET_CUDA_FOUND");
        for (String lib : LIBS) {
            String file = lib.equals("libnvrtc-builtins.so.13") ? lib + ".1" : lib;
            assertTrue((" " + found + " ").contains(" " + lib + "=" + libs.resolve(file) + " "), lib + " in " + found);
            assertFalse(p.var("JRESNET_CUDA_MISSING").contains(lib), p.var("JRESNET_CUDA_MISSING"));
        }
        // The driver is this machine's: found (from the system) or missing, never from the fake folder.
        assertTrue(found.contains("libcuda.so.1=") != p.var("JRESNET_CUDA_MISSING").contains("libcuda.so.1"), p.toString());
        assertEquals(libs.toString(), p.var("LD_LIBRARY_PATH"), "a folder already on LD_LIBRARY_PATH is not added twice");
    }

    @Test
    void findsPipWheelsInAVirtualEnvAndNamesWhatIsMissing(@TempDir Path dir) throws Exception {
        Path site = dir.resolve("venv/lib/python3.11/site-packages");
        Path cudnn = Files.createDirectories(site.resolve("nvidia/cudnn/lib"));
        Path cu13 = Files.createDirectories(site.resolve("nvidia/cu13/lib"));
        for (String lib : LIBS) {
            Path folder = lib.startsWith("libcudnn") ? cudnn : cu13;
            if (!lib.startsWith("libnvrtc")) { // NVRTC left out: it must be reported missing
                Files.createFile(folder.resolve(lib));
            }
        }
        Proc p = Proc.source(ENV, Map.of("JRESNET_HOME", CHECKOUT.toString(), "VIRTUAL_ENV", dir.resolve("venv").toString(),
                "LD_LIBRARY_PATH", "/nonexistent"), VARS);
        assertEquals(0, p.exit(), p.toString());
        assertTrue(p.var("JRESNET_CUDA_FOUND").contains("libcudnn_cnn.so.9=" + cudnn.resolve("libcudnn_cnn.so.9")),
                p.toString());
        assertTrue(p.var("JRESNET_CUDA_FOUND").contains("libcublasLt.so.13=" + cu13.resolve("libcublasLt.so.13")),
                p.toString());
        String missing = p.var("JRESNET_CUDA_MISSING").replace("libcuda.so.1", "").trim();
        if (!p.var("JRESNET_CUDA_FOUND").contains("libnvrtc.so.13=")) { // unless this machine has NVRTC itself
            assertEquals("libnvrtc.so.13 libnvrtc-builtins.so.13", missing);
        }
        List<String> path = entries(p.var("LD_LIBRARY_PATH"));
        assertTrue(path.indexOf(cudnn.toString()) >= 0 && path.indexOf(cu13.toString()) >= 0, path.toString());
        assertEquals("/nonexistent", path.get(path.size() - 1), "prepended, the caller's path kept last");
    }

    @Test
    void quickSilentAndSafeWithoutAnyBuild(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        Proc p = Proc.source(ENV, Map.of("JRESNET_HOME", dir.toString()), VARS);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(0, p.exit(), p.toString());
        assertEquals("", p.err());
        assertEquals("none", p.var("JRESNET_LAYOUT"));
        assertEquals("", p.var("JRESNET_CLASSPATH"));
        assertEquals("", p.var("JRESNET_JUNIT"));
        assertTrue(seconds < 3, "sourcing took " + seconds + " s"); // well under 1 s on an idle machine
        Proc verbose = Proc.source(ENV, Map.of("JRESNET_HOME", dir.toString(), "JRESNET_ENV_VERBOSE", "1"), VARS);
        assertTrue(verbose.err().contains("jresnet-env: CUDA libraries missing:"), verbose.toString());
    }

    static List<String> entries(String path) {
        return path.isEmpty() ? List.of() : Arrays.asList(path.split(File.pathSeparator));
    }
}
