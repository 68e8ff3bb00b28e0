package dev.jresnet.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CI side of native/: every .cu compiles with nvcc for sm_90 (the GPU machine's architecture) with
 * warnings as errors, follows the rules that let NVRTC compile it at run time (no #include, extern "C"
 * kernels), documents its launch shapes, is shipped on the classpath, and declares exactly the kernels and
 * parameters the Java side launches. Runs without a GPU.
 *
 * <p>The compilation the engine really does, NVRTC through {@link KernelCompiler} for sm_80, sm_90 and
 * sm_100, is checked by {@link KernelCompilerNvrtcTest} (in a JVM of its own); nvcc stays here as a second,
 * independent compiler and for {@code -Werror all-warnings}, which the engine's NVRTC options do not ask
 * for. Both check the CUBIN's kernels with {@link CubinElf#assertKernels}.
 *
 * <p>nvcc: environment variable NVCC, else /usr/local/bin/nvcc, else nvcc on PATH. Where none exists the
 * compile test is skipped with a message, unless -Djresnet.requireNvcc=true, where it fails.
 */
class NativeSourcesTest {
    private static final Pattern KERNEL = Pattern.compile("__global__\\s+void\\s+(\\w+)\\s*\\(([^)]*)\\)");

    static Path nativeDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("native")) && Files.isDirectory(p.resolve("java"))) {
                return p.resolve("native");
            }
        }
        throw new IllegalStateException("no native/ folder above " + Path.of("").toAbsolutePath());
    }

    static Stream<String> cuFiles() throws IOException {
        try (Stream<Path> files = Files.list(nativeDir())) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".cu")).sorted().toList().stream();
        }
    }

    private static String read(String file) throws IOException {
        return Files.readString(nativeDir().resolve(file), StandardCharsets.UTF_8);
    }

    /** Removes // and block comments (the kernels use no string literals containing them). */
    static String stripComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", "");
    }

    // ------------------------------------------------------------------ nvcc

    @ParameterizedTest(name = "nvcc -arch=sm_90 -cubin {0}")
    @MethodSource("cuFiles")
    void compilesWithNvcc(String file, @TempDir Path tmp) throws Exception {
        String nvcc = Toolchain.require("NVCC", "nvcc", "jresnet.requireNvcc", "compilation with nvcc",
                "/usr/local/bin/nvcc");
        Path cubin = tmp.resolve(file.replace(".cu", ".cubin"));
        // The same flags as the NVRTC build (KernelCompiler.OPTIONS), plus warnings as errors.
        List<String> cmd = new ArrayList<>(List.of(nvcc, "-arch=sm_90", "-cubin"));
        cmd.addAll(KernelCompiler.OPTIONS);
        cmd.addAll(List.of("-Werror", "all-warnings", "-o", cubin.toString(), nativeDir().resolve(file).toString()));
        Toolchain.run(cmd, 300, file + " with nvcc");
        CubinElf.assertKernels(file, "sm_90", Files.readAllBytes(cubin));
    }

    // ------------------------------------------------------------------ NVRTC rules and the Java side

    @ParameterizedTest(name = "{0} follows the NVRTC rules")
    @MethodSource("cuFiles")
    void followsNvrtcRules(String file) throws IOException {
        String code = stripComments(read(file));
        assertFalse(Pattern.compile("(?m)^\\s*#\\s*include").matcher(code).find(),
                () -> file + " has an #include: NVRTC gets no include path (fp16 conversion is inline PTX)");
        List<int[]> externC = new ArrayList<>();
        Matcher open = Pattern.compile("extern\\s+\"C\"\\s*\\{").matcher(code);
        while (open.find()) {
            int depth = 1, i = open.end();
            while (depth > 0 && i < code.length()) {
                char ch = code.charAt(i++);
                depth += ch == '{' ? 1 : ch == '}' ? -1 : 0;
            }
            externC.add(new int[] {open.end(), i});
        }
        Matcher k = KERNEL.matcher(code);
        int kernels = 0;
        while (k.find()) {
            kernels++;
            int at = k.start();
            boolean inside = externC.stream().anyMatch(r -> at >= r[0] && at < r[1])
                    || code.substring(Math.max(0, at - 20), at).matches("(?s).*extern\\s+\"C\"\\s*$");
            assertTrue(inside, file + ": kernel " + k.group(1) + " is not extern \"C\"");
        }
        assertTrue(kernels > 0, file + " has no kernel");
    }

    @ParameterizedTest(name = "{0} documents each kernel's launch shape")
    @MethodSource("cuFiles")
    void documentsLaunchShapes(String file) throws IOException {
        String text = read(file);
        Matcher k = KERNEL.matcher(text);
        int previousEnd = 0;
        while (k.find()) {
            String before = text.substring(previousEnd, k.start());
            assertTrue(before.contains("// " + k.group(1)) && before.contains("Launch:") && before.contains("Computes"),
                    file + ": kernel " + k.group(1) + " lacks its comment (name, Launch: shape, Computes ...)");
            previousEnd = k.end();
        }
    }

    @Test
    void javaSideMatchesTheKernels() throws IOException {
        Set<KernelSources.KernelSpec> declared = new HashSet<>();
        for (String file : cuFiles().toList()) {
            Matcher k = KERNEL.matcher(stripComments(read(file)));
            while (k.find()) {
                StringBuilder letters = new StringBuilder();
                for (String param : k.group(2).split(",")) {
                    String p = param.replace("const", " ").replace("__restrict__", " ").trim();
                    letters.append(p.contains("*") ? 'P'
                            : p.matches("(unsigned\\s+)?long\\s+long\\s+\\w+") ? 'L'
                            : p.matches("int\\s+\\w+") ? 'I'
                            : p.matches("float\\s+\\w+") ? 'F' : '?');
                }
                declared.add(new KernelSources.KernelSpec(file, k.group(1), letters.toString()));
            }
        }
        assertEquals(Set.copyOf(KernelSources.KERNELS), declared,
                "KernelSources.KERNELS must list every kernel of native/ with its parameters (P, I, L, F)");
        assertEquals(Set.copyOf(KernelSources.FILES), Set.copyOf(cuFiles().toList()),
                "KernelSources.FILES must list every native/*.cu");
    }

    @Test
    void sourcesAreOnTheClasspath() throws IOException {
        for (String file : KernelSources.FILES) {
            assertEquals(read(file), KernelSources.read(file), file + " on the classpath differs from native/" + file);
        }
    }
}
