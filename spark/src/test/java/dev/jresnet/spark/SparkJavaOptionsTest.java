package dev.jresnet.spark;

import org.apache.spark.launcher.JavaModuleOptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spark 4 on Java 17 needs the JVM options of its launcher (JavaModuleOptions); spark-submit adds them, an embedded run
 * must add them itself: this test JVM (Surefire's argLine) and the ./jresnet launcher (bin/jresnet-env) both do.
 */
class SparkJavaOptionsTest {
    private static final List<String> SPARK = List.of(JavaModuleOptions.defaultModuleOptionArray());

    @Test
    void thisJvmHasSparksOptions() {
        List<String> ours = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (String o : SPARK) {
            assertTrue(ours.contains(o), "Surefire's argLine (spark.java.options in spark/pom.xml) lacks " + o);
        }
    }

    @Test
    void theLauncherPassesSparksOptions() throws IOException {
        String env = Files.readString(Fixtures.samples().resolveSibling("dist/src/bin/jresnet-env"));
        for (String o : SPARK) {
            assertTrue(env.contains(o), "dist/src/bin/jresnet-env's JRESNET_SPARK_JAVA_OPTS lacks " + o);
        }
    }
}
