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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The CI side of native/: every .cu compiles with nvcc for sm_90 (the GPU machine's architecture), follows
 * the rules that let NVRTC compile it at run time (no #include, extern "C" kernels), documents its launch
 * shapes, is shipped on the classpath, and declares exactly the kernels and parameters the Java side
 * launches. Runs without a GPU.
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

    private static String nvcc() {
        String env = System.getenv("NVCC");
        if (env != null && !env.isBlank()) {
            return env;
        }
        if (Files.isExecutable(Path.of("/usr/local/bin/nvcc"))) {
            return "/usr/local/bin/nvcc";
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "nvcc"))) {
                    return Path.of(dir, "nvcc").toString();
                }
            }
        }
        return null;
    }

    @ParameterizedTest(name = "nvcc -arch=sm_90 -cubin {0}")
    @MethodSource("cuFiles")
    void compilesWithNvcc(String file, @TempDir Path tmp) throws Exception {
        String nvcc = nvcc();
        if (nvcc == null || (Path.of(nvcc).isAbsolute() && !Files.isExecutable(Path.of(nvcc)))) {
            String msg = "nvcc not found (" + (nvcc == null ? "set NVCC, or install it at /usr/local/bin/nvcc or on PATH"
                    : nvcc + " is not executable") + "): kernel compilation not checked";
            if (Boolean.getBoolean("jresnet.requireNvcc")) {
                fail(msg + " (and -Djresnet.requireNvcc=true)");
            }
            abort(msg);
        }
        Path cubin = tmp.resolve(file.replace(".cu", ".cubin"));
        // The same flags as the NVRTC build (KernelCompiler.OPTIONS), plus warnings as errors.
        List<String> cmd = new ArrayList<>(List.of(nvcc, "-arch=sm_90", "-cubin"));
        cmd.addAll(KernelCompiler.OPTIONS);
        cmd.addAll(List.of("-Werror", "all-warnings", "-o", cubin.toString(), nativeDir().resolve(file).toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        boolean done = p.waitFor(300, TimeUnit.SECONDS);
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
            fail(file + ": nvcc did not finish in 300 s\n" + output);
        }
        assertEquals(0, p.exitValue(), () -> file + " does not compile:\n" + String.join(" ", cmd) + "\n" + output);
        byte[] elf = Files.readAllBytes(cubin);
        String symbols = new String(elf, StandardCharsets.ISO_8859_1);
        for (KernelSources.KernelSpec k : KernelSources.KERNELS) {
            if (k.file().equals(file)) {
                // extern "C": the symbol is the plain name (a mangled one would start with _Z)
                assertTrue(symbols.contains("\0" + k.name() + "\0") || symbols.contains(".text." + k.name() + "\0"),
                        () -> file + ": the CUBIN has no unmangled symbol " + k.name());
            }
        }
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
