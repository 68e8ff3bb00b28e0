package dev.jresnet;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * llm.c's twin rule, read from the sources: every op of {@code GpuOps} and {@code GpuGrads} (a method taking device
 * tensors and numbers) has a twin in {@code CpuOps} and {@code CpuGrads} with the same name, the same parameter names
 * and types (GpuTensor for Tensor) in the same order, and the ops come in the same order in both files.
 */
class TwinOpsTest {
    private static final Pattern METHOD = Pattern.compile(
            "\\n    public (?:static )?(?:synchronized )?(void|float) (\\w+)\\(([^)]*)\\)", Pattern.DOTALL);

    /** The file's ops in order: "name(Type a, int b)" with whitespace normalised; device tensors named Tensor. */
    static List<String> ops(String file, String tensorType) throws IOException {
        String src = Files.readString(Path.of("src/main/java/dev/jresnet", file));
        List<String> out = new ArrayList<>();
        Matcher m = METHOD.matcher(src);
        while (m.find()) {
            String params = m.group(3).replaceAll("\\s+", " ").strip();
            String[] parts = params.isEmpty() ? new String[0] : params.split(", ");
            boolean op = parts.length > 0 && parts[0].startsWith(tensorType + " ");
            for (String p : parts) {
                String type = p.substring(0, p.indexOf(' '));
                op &= type.equals(tensorType) || List.of("int", "float", "boolean", "int[]").contains(type);
            }
            if (op) {
                out.add(m.group(2) + "(" + params.replaceAll("\\b" + tensorType + "\\b", "Tensor") + ")");
            }
        }
        return out;
    }

    private static List<String> names(List<String> ops) {
        List<String> n = new ArrayList<>();
        for (String o : ops) {
            n.add(o.substring(0, o.indexOf('(')));
        }
        return new ArrayList<>(new LinkedHashSet<>(n));
    }

    private static void twins(String cpuFile, String gpuFile) throws IOException {
        List<String> cpu = ops(cpuFile, "Tensor"), gpu = ops(gpuFile, "GpuTensor");
        assertTrue(gpu.size() >= 8, gpuFile + " ops: " + gpu);
        assertEquals(names(cpu), names(gpu), "the same ops in the same order in " + cpuFile + " and " + gpuFile);
        for (String g : gpu) {
            assertTrue(cpu.contains(g), gpuFile + "'s " + g + " has no twin with the same parameters in " + cpuFile
                    + " (" + cpu + ")");
        }
    }

    @Test
    void gpuOpsAreTheTwinsOfCpuOps() throws IOException {
        twins("cpu/CpuOps.java", "cuda/GpuOps.java");
    }

    @Test
    void gpuGradsAreTheTwinsOfCpuGrads() throws IOException {
        twins("cpu/CpuGrads.java", "cuda/train/GpuGrads.java");
    }
}
