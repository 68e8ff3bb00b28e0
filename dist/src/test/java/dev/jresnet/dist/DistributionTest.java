package dev.jresnet.dist;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** The built tarball (mvn -Pdist package): layout, size, and that its launcher, doctor and JUnit run here. */
class DistributionTest {
    /** What may travel to a GPU host together with the source tree (64 MiB in all). */
    static final long MAX_BYTES = 80L * 1024 * 1024;  // 50 MiB before oneDNN's 27 MB of jars

    static final Path TARBALL = Path.of(System.getProperty("jresnet.dist.tarball",
            "target/jresnet-" + System.getProperty("jresnet.dist.version") + "-linux-x86_64.tar.gz"));
    static final String VERSION = System.getProperty("jresnet.dist.version", "");

    @TempDir
    static Path unpacked;
    static Path home;

    @BeforeAll
    static void unpack() throws Exception {
        assertTrue(Files.isRegularFile(TARBALL), TARBALL + " not built");
        Proc tar = Proc.run(unpacked, Map.of(), List.of("tar", "xzf", TARBALL.toAbsolutePath().toString()));
        assertEquals(0, tar.exit(), tar.toString());
        home = unpacked.resolve("jresnet-" + VERSION);
    }

    @Test
    void sizeAndLayout() throws IOException {
        long size = Files.size(TARBALL);
        System.out.printf("%s: %.1f MB%n", TARBALL.getFileName(), size / 1e6);
        assertTrue(size < MAX_BYTES, "the tarball has " + size + " bytes, more than " + MAX_BYTES);
        assertEquals(List.of("README.md", "bin", "check", "lib", "runtime"), names(unpacked.resolve("jresnet-" + VERSION)));
        for (String exe : List.of("bin/jresnet", "bin/jresnet-env", "runtime/bin/java", "runtime/lib/jspawnhelper")) {
            assertTrue(Files.isExecutable(home.resolve(exe)), exe);
        }
        List<String> lib = names(home.resolve("lib"));
        for (String prefix : List.of("jresnet-" + VERSION + ".jar", "jresnet-bench-" + VERSION + ".jar", "javacpp-1.",
                "cuda-13.", "picocli-", "jackson-databind-", "jfreechart-")) {
            assertTrue(lib.stream().anyMatch(n -> n.startsWith(prefix)), prefix + " in " + lib);
        }
        assertTrue(lib.stream().anyMatch(n -> n.matches("cuda-.*-linux-x86_64\\.jar")), lib.toString());
        for (String absent : List.of("onnxruntime", "jmh", "junit", "-tests", "windows", "macosx", "arm64", "ppc64le")) {
            assertFalse(lib.stream().anyMatch(n -> n.contains(absent)), absent + " in " + lib);
        }
        List<String> check = names(home.resolve("check"));
        assertEquals(3, check.size(), check.toString());
        assertTrue(check.contains("jresnet-" + VERSION + "-tests.jar"), check.toString());
        assertTrue(check.contains("jresnet-bench-" + VERSION + "-tests.jar"), check.toString());
        assertTrue(check.stream().anyMatch(n -> n.matches("junit-platform-console-standalone-1\\.14\\.[0-9]+\\.jar")),
                check.toString());
    }

    @Test
    void launcherRunsOnTheBundledRuntime() throws Exception {
        Proc help = jresnet("--help");
        assertEquals(0, help.exit(), help.toString());
        assertTrue(help.out().startsWith("Usage: jresnet"), help.toString());
        assertTrue(help.out().contains("doctor"), help.toString());
        Proc version = jresnet("--version");
        assertEquals(0, version.exit(), version.toString());
        assertTrue(version.out().startsWith("jresnet " + VERSION), version.toString());
        Proc env = Proc.source(home.resolve("bin/jresnet-env"), Map.of(), JresnetEnvTest.VARS);
        assertEquals("dist", env.var("JRESNET_LAYOUT"));
        assertEquals(home.resolve("runtime/bin/java").toString(), env.var("JRESNET_JAVA"));
        assertTrue(JresnetEnvTest.entries(env.var("JRESNET_CLASSPATH")).stream()
                .allMatch(e -> e.startsWith(home.resolve("lib") + "/")), env.var("JRESNET_CLASSPATH"));
        assertEquals(home.resolve("check").resolve(names(home.resolve("check")).stream()
                .filter(n -> n.startsWith("junit-platform-console")).findFirst().orElseThrow()).toString(),
                env.var("JRESNET_JUNIT"));
    }

    /** No GPU here: doctor says why in its last line and exits 1, without a stack trace. */
    @Test
    void doctorExplainsInOneLine() throws Exception {
        Proc doctor = jresnet("doctor");
        if (doctor.out().contains("usable: yes")) {
            return; // a machine with a usable GPU: nothing to explain
        }
        assertEquals(1, doctor.exit(), doctor.toString());
        List<String> lines = doctor.out().lines().collect(Collectors.toList());
        assertTrue(lines.get(lines.size() - 1).matches("usable: no \\(.+\\)"), doctor.toString());
        assertTrue(doctor.out().contains("    libcudnn.so.9 (cuDNN 9"), doctor.toString());
        assertFalse((doctor.out() + doctor.err()).contains("\tat "), doctor.toString());
        assertFalse(doctor.err().contains("Exception"), doctor.toString());
    }

    /** A GPU host (libcuda.so.1 present) without cuDNN and the rest: one line on stderr, not for doctor. */
    @Test
    void launcherNamesMissingLibrariesOnAGpuHost(@TempDir Path dir) throws Exception {
        Files.createFile(dir.resolve("libcuda.so.1"));
        Proc p = Proc.run(home, Map.of("LD_LIBRARY_PATH", dir.toString()), List.of(home.resolve("bin/jresnet").toString(),
                "--version"));
        assertEquals(0, p.exit(), p.toString());
        List<String> notes = p.err().lines().filter(l -> l.startsWith("jresnet: ")).collect(Collectors.toList());
        assertEquals(1, notes.size(), p.toString());
        assertTrue(notes.get(0).startsWith("jresnet: CUDA libraries not found: "), notes.get(0));
        assertTrue(notes.get(0).endsWith("the CPU engine runs; `jresnet doctor` says how to install them"), notes.get(0));
    }

    /** check/ holds what the JUnit console needs: one test class of the engine runs from it. */
    @Test
    void checkRunsJUnitTests() throws Exception {
        Proc p = Proc.run(home, Map.of(), List.of("bash", "-c", ". bin/jresnet-env && \"$JRESNET_JAVA\" "
                + "$JRESNET_JAVA_OPTS_DEFAULT -jar \"$JRESNET_JUNIT\" execute --class-path \"$JRESNET_TEST_CLASSPATH\" "
                + "--select-class dev.jresnet.cuda.DoctorTest --disable-banner --details=summary"));
        assertEquals(0, p.exit(), p.toString());
        assertTrue(p.out().contains("tests successful"), p.toString());
        assertFalse(p.out().contains("0 tests successful"), p.toString());
    }

    /** The bench's ONNX Runtime peer is left out: asking for it says so in one line and the run goes on. */
    @Test
    void onnxRuntimePeerIsReportedUnavailable() throws Exception {
        Proc p = jresnet("bench", "--arch", "resnet18", "--batch", "1", "--warmup", "0.05", "--seconds", "0.1",
                "--compare", "onnxruntime");
        assertEquals(0, p.exit(), p.toString());
        assertTrue(p.err().contains("onnxruntime is UNAVAILABLE, continuing without it: ONNX Runtime is not on the "
                + "classpath"), p.toString());
        assertFalse(p.err().contains("\tat "), p.toString());
    }

    private static Proc jresnet(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(home.resolve("bin/jresnet").toString()));
        cmd.addAll(List.of(args));
        return Proc.run(home, Map.of("JRESNET_XMX", "2g"), cmd);
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }
}
