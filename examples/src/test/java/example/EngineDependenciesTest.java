package example;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An application that depends on the engine (this project, as the README's Maven blocks have it) gets the engine and
 * JavaCPP with its CUDA presets, and the oneDNN and OpenCL presets it names itself, nothing else: not Spark, Scala or
 * Hadoop (module spark), not ONNX Runtime or JFreeChart (bench), not picocli or Jackson (the CLI's, optional). The
 * engine's own pom declares oneDNN optional, so an application that does not name it does not get it.
 */
class EngineDependenciesTest {
    @Test
    void theEnginesRuntimeClasspathIsJavaCppAndItsPresets() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Set<String> jars = Stream.of(cp.split(File.pathSeparator)).filter(e -> e.endsWith(".jar"))
                .map(e -> Path.of(e).getFileName().toString())
                // the test's own: JUnit and what it brings
                .filter(n -> !n.matches("(junit|opentest4j|apiguardian|surefire|common-java5|common-junit).*"))
                .map(n -> n.replaceAll("-\\d.*", ""))
                // the engine itself: jresnet-VERSION.jar from a repository, jresnet.jar (its build name) in a reactor
                .filter(n -> !n.equals("jresnet") && !n.equals("jresnet.jar"))
                .collect(Collectors.toCollection(java.util.TreeSet::new));
        assertEquals(Set.of("javacpp", "cuda", "dnnl", "opencl"), jars, "the engine's runtime dependencies");
    }

    @Test
    void theEnginesPomDeclaresOneDnnOptional() throws java.io.IOException {
        String pom = java.nio.file.Files.readString(ReadmeExamplesTest.ROOT.resolve("java/pom.xml"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "<dependency>(?:(?!</dependency>).)*<artifactId>(dnnl|opencl)</artifactId>(?:(?!</dependency>).)*"
                        + "</dependency>", java.util.regex.Pattern.DOTALL).matcher(pom);
        int found = 0;
        while (m.find()) {
            found++;
            org.junit.jupiter.api.Assertions.assertTrue(m.group().contains("<optional>true</optional>"),
                    "java/pom.xml must keep oneDNN optional:\n" + m.group());
        }
        assertEquals(3, found, "java/pom.xml's dnnl, dnnl (natives) and opencl (natives) dependencies");
    }
}
