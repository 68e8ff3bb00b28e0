package dev.jresnet;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The engine's packages form layers, each depending only on layers below it, as {@code jdeps} reads them from the
 * compiled classes (so fully qualified names count too): no package cycle, and no reflective load of a class in
 * another package to hide one.
 */
class PackageLayersTest {
    /** Bottom to top; a package may depend only on packages of lower layers. */
    static final List<List<String>> LAYERS = List.of(
            List.of("io"),
            List.of("tensor"),
            List.of("cpu", "image", "nn", "weights"),
            List.of("graph"),
            List.of("cuda", "dnnl", "onnx", "train"),
            List.of("cuda.train"),
            List.of("resnet"),
            List.of("finetune"),
            List.of("cli"));

    private static final Pattern EDGE = Pattern.compile("^\\s+dev\\.jresnet\\.([a-z.]+)\\s+->\\s+dev\\.jresnet\\.([a-z.]+)\\s");

    /** package -> the engine's packages it depends on, from jdeps -verbose:package on target/classes. */
    static Map<String, Set<String>> dependencies() {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("no jdeps in this JDK"));
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(err), "-verbose:package", "-filter:none",
                Path.of("target/classes").toString());
        assertEquals(0, rc, "jdeps failed: " + err);
        Map<String, Set<String>> deps = new TreeMap<>();
        for (String line : out.toString().lines().toList()) {
            Matcher m = EDGE.matcher(line);
            if (m.find()) {
                deps.computeIfAbsent(m.group(1), k -> new TreeSet<>());
                if (!m.group(1).equals(m.group(2))) {
                    deps.get(m.group(1)).add(m.group(2));
                }
            }
        }
        return deps;
    }

    private static int layer(String pkg) {
        for (int i = 0; i < LAYERS.size(); i++) {
            if (LAYERS.get(i).contains(pkg)) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void everyPackageDependsOnlyOnLowerLayers() {
        Map<String, Set<String>> deps = dependencies();
        assertTrue(deps.size() >= 12, "jdeps found the packages: " + deps.keySet());
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, Set<String>> e : deps.entrySet()) {
            int from = layer(e.getKey());
            if (from < 0) {
                wrong.add("package " + e.getKey() + " is in no layer (add it to PackageLayersTest.LAYERS)");
                continue;
            }
            for (String to : e.getValue()) {
                if (layer(to) >= from) {
                    wrong.add(e.getKey() + " -> " + to);
                }
            }
        }
        assertTrue(wrong.isEmpty(), "dependencies against the layers " + LAYERS + ": " + wrong);
    }

    @Test
    void thereIsNoPackageCycle() {
        Map<String, Set<String>> deps = dependencies();
        for (String start : deps.keySet()) {
            List<String> cycle = cycleFrom(start, start, deps, new ArrayList<>(List.of(start)), new TreeSet<>());
            if (cycle != null) {
                fail("package cycle: " + String.join(" -> ", cycle));
            }
        }
    }

    private static List<String> cycleFrom(String start, String at, Map<String, Set<String>> deps, List<String> path,
                                          Set<String> seen) {
        for (String next : deps.getOrDefault(at, Set.of())) {
            if (next.equals(start)) {
                List<String> c = new ArrayList<>(path);
                c.add(start);
                return c;
            }
            if (seen.add(next)) {
                path.add(next);
                List<String> c = cycleFrom(start, next, deps, path, seen);
                if (c != null) {
                    return c;
                }
                path.remove(path.size() - 1);
            }
        }
        return null;
    }

    @Test
    void noClassOfAnotherPackageIsLoadedByName() throws IOException {
        Pattern byName = Pattern.compile("Class\\.forName\\(\"dev\\.jresnet\\.([a-z.]+)\\.[A-Z]");
        List<String> wrong = new ArrayList<>();
        Path src = Path.of("src/main/java/dev/jresnet");
        try (Stream<Path> files = Files.walk(src)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = src.relativize(f.getParent()).toString().replace('/', '.');
                Matcher m = byName.matcher(Files.readString(f));
                while (m.find()) {
                    if (!m.group(1).equals(pkg)) {
                        wrong.add(f + " loads dev.jresnet." + m.group(1) + " by name");
                    }
                }
            }
        }
        assertTrue(wrong.isEmpty(), String.join("; ", wrong));
    }
}
