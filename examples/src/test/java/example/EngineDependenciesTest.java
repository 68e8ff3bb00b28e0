package example;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An application that depends on the engine alone (this project, as the README's Maven block has it) gets the engine
 * and JavaCPP with its CUDA presets, nothing else: not Spark, Scala or Hadoop (module spark), not ONNX Runtime or
 * JFreeChart (bench), not picocli or Jackson (the CLI's, optional).
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
        assertEquals(Set.of("javacpp", "cuda"), jars, "the engine's runtime dependencies");
    }
}
