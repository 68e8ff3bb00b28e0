package dev.jresnet.cpu;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Before any kernel runs, the type profile at the Vector API's operator dispatch ({@code VectorOperators.opCode}'s
 * cast, where Java 17's C2 once trapped and then compiled whole tiles onto the allocating fallback; see
 * {@link OperatorProfiles}) holds more than one kind of operator. Read from the JVM's own method data
 * ({@code -XX:+PrintMethodData}, printed at exit) in a JVM that only initialises the kernels' species. Without the
 * mixing the profile there is empty (the dispatch has not run): the test fails.
 */
class OperatorProfilesTest {
    private static final Pattern DISPATCH = Pattern.compile(
            "static jdk\\.incubator\\.vector\\.VectorOperators::opCode\\(Ljdk/incubator/vector/VectorOperators\\$Operator;"
                    + "II\\)I\\R(?:.*\\R)*?1 checkcast[^\\n]*\\R\\s+0\\s+bci: 1\\s+ReceiverTypeData[^\\n]*\\R((?:\\s+'[^\\n]*\\R)*)");
    private static final Pattern ROW = Pattern.compile("'jdk/incubator/vector/VectorOperators\\$(\\w+)'\\((\\d+)");

    @Test
    void theDispatchProfileHoldsSeveralOperatorKindsBeforeAnyKernelRuns() throws Exception {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-XX:+UnlockDiagnosticVMOptions", "-XX:+PrintMethodData",
                "-cp", cp, Probe.class.getName())).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the probe JVM did not end");
        assertTrue(out.contains("species " + DirectTiles.L), "the probe did not run: " + tail(out));
        assumeTrue(java.util.Arrays.stream(Class.forName("jdk.incubator.vector.VectorOperators").getDeclaredMethods())
                        .anyMatch(d -> d.getName().equals("opCode") && d.getParameterCount() == 3),
                "this JDK's Vector API has no VectorOperators.opCode (the dispatch where Java 17's C2 trapped)");
        Matcher m = DISPATCH.matcher(out);
        assertTrue(m.find(), "no receiver-type profile at VectorOperators.opCode's cast after the species was"
                + " initialised: the dispatch never ran there");
        Matcher row = ROW.matcher(m.group(1));
        StringBuilder kinds = new StringBuilder();
        int n = 0;
        while (row.find()) {
            kinds.append(' ').append(row.group(1)).append('(').append(row.group(2)).append(')');
            n++;
        }
        assertTrue(n >= 2, "the dispatch's profile holds " + n + " operator kind(s):" + kinds
                + " - C2 would speculate on one and trap on the next");
    }

    private static String tail(String s) {
        return s.length() < 2000 ? s : s.substring(s.length() - 2000);
    }

    /** Initialises the kernels' species, as the first use of any CPU kernel does, and nothing else. */
    public static final class Probe {
        public static void main(String[] args) {
            System.out.println("species " + DirectTiles.S.length());
        }
    }
}
