package dev.jresnet.cli;

import dev.jresnet.testing.PyTorchReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Both launchers (./jresnet of a checkout, bin/jresnet of a distribution) classify a file with a non-ASCII name
 * under LANG=C. Java 17 in the C locale decodes arguments as ASCII (sun.jnu.encoding, not settable with -D), so the
 * path came out as "chat-??.png" and picocli refused it; the launchers now run Java in C.UTF-8. Each launcher runs
 * in a copy of its layout whose java is a stand-in that runs this build's classes with the real java.
 */
class LauncherLocaleTest {
    static final String NAME = "chat-\u00e9t\u00e9.png";

    @Test
    void checkoutLauncher(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("checkout");
        for (String d : List.of("java/src/main", "bench/src/main", "java/target/lib", "bench/target/lib", "dist/src/bin")) {
            Files.createDirectories(root.resolve(d));
        }
        for (String f : List.of("pom.xml", "java/pom.xml", "bench/pom.xml")) {
            Files.writeString(root.resolve(f), "");
        }
        Path launcher = copy("jresnet", root.resolve("jresnet"));
        copy("dist/src/bin/jresnet-env", root.resolve("dist/src/bin/jresnet-env"));
        // Newer than the "sources", so the launcher does not rebuild.
        FileTime later = FileTime.fromMillis(System.currentTimeMillis() + 60_000);
        for (String jar : List.of("java/target/jresnet.jar", "bench/target/jresnet-bench.jar")) {
            Files.setLastModifiedTime(Files.writeString(root.resolve(jar), ""), later);
        }
        Path jdk = tmp.resolve("jdk");
        standInJava(jdk.resolve("bin/java"));
        check(launcher, tmp, Map.of("JAVA_HOME", jdk.toString()));
    }

    @Test
    void distributionLauncher(@TempDir Path tmp) throws Exception {
        Path home = tmp.resolve("jresnet-dist");
        Files.createDirectories(home.resolve("lib"));
        Files.writeString(home.resolve("lib/jresnet.jar"), "");
        Path launcher = copy("dist/src/bin/jresnet", home.resolve("bin/jresnet"));
        copy("dist/src/bin/jresnet-env", home.resolve("bin/jresnet-env"));
        standInJava(home.resolve("runtime/bin/java"));
        check(launcher, tmp, Map.of());
    }

    private static void check(Path launcher, Path tmp, Map<String, String> env) throws Exception {
        Assumptions.assumeTrue("UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding")),
                "this JVM cannot name a non-ASCII file itself");
        Path image = Files.copy(PyTorchReference.projectRoot().resolve("samples/chelsea.png"), tmp.resolve(NAME));
        ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "classify", image.toString(), "--arch", "resnet18",
                "--untrained", "--device", "cpu", "--top", "1");
        pb.environment().remove("LC_ALL");
        pb.environment().remove("LC_CTYPE");
        pb.environment().put("LANG", "C");
        pb.environment().putAll(env);
        Path log = tmp.resolve("log.txt");
        Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done, "timed out: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains(image + System.lineSeparator() + "  "), "classified by its name: " + out);
    }

    private static Path copy(String fromRoot, Path to) throws Exception {
        Files.createDirectories(to.getParent());
        return Files.copy(PyTorchReference.projectRoot().resolve(fromRoot), to);
    }

    /** A java that runs this build's classes (the test class path) with the real java, whatever classpath it gets. */
    private static void standInJava(Path file) throws Exception {
        Files.createDirectories(file.getParent());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = "#!/bin/sh\n"
                + "while [ $# -gt 0 ] && [ \"$1\" != " + Main.class.getName() + " ]; do shift; done\n"
                + "exec '" + java + "' -Xmx512m --add-modules jdk.incubator.vector -cp '"
                + System.getProperty("java.class.path") + "' \"$@\"\n";
        Files.writeString(file, script);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
