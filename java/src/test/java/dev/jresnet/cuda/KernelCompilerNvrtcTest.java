package dev.jresnet.cuda;

import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * Every file of {@link KernelSources#FILES} compiles through the engine's own {@link KernelCompiler} (NVRTC,
 * its options, its cache) to a CUBIN for sm_80, sm_90 and sm_100 that holds exactly the kernels of
 * {@link KernelSources#KERNELS} ({@link CubinElf#assertKernels}); the cache answers the second call; a
 * compile error names the file and carries NVRTC's log. No GPU needed.
 *
 * <p><b>A JVM of its own.</b> The presets' {@code nvrtc} class inherits {@code cudart}, whose JNI library
 * {@code libjnicudart.so} has {@code libcuda.so.1} (the driver) as a DT_NEEDED dependency. Where there is no
 * driver, {@link #loadNvrtcBesideAStubDriver} builds an empty shared library with the soname
 * {@code libcuda.so.1} (gcc) and {@code System.load}s it before anything CUDA loads: the dynamic linker then
 * takes it for the driver. All of libjnicudart's driver references are lazily bound PLT calls
 * (R_X86_64_JUMP_SLOT), so loading succeeds and NVRTC works, but calling any driver function in this JVM
 * would end the process, and {@link CudaAvailability} here would no longer say "libcuda.so.1 not found".
 * Hence the tag {@value #TAG}: java/pom.xml runs this class only in the Surefire execution {@code nvrtc}
 * (system property {@code jresnet.nvrtcJvm=true}; elsewhere it skips), which also puts
 * {@code org.bytedeco:cuda-redist} (NVRTC and libcudart of the presets' CUDA version) on its classpath
 * only; the default execution excludes the tag and keeps seeing no driver.
 *
 * <p>Without gcc (or {@code $CC}) every test is skipped with the reason, unless
 * {@code -Djresnet.requireNvrtc=true} (the default where {@code jresnet.requireTorch} is true, as in CI),
 * where it fails.
 */
@Tag(KernelCompilerNvrtcTest.TAG)
class KernelCompilerNvrtcTest {
    static final String TAG = "nvrtc";
    /** Ampere (A100), Hopper (H100/H200, the GPU machine's), Blackwell (B200). */
    static final List<String> ARCHS = List.of("sm_80", "sm_90", "sm_100");
    private static final String REQUIRE = "jresnet.requireNvrtc";

    @TempDir
    static Path tmp;
    private static KernelCompiler compiler;

    /** Why this JVM cannot run the checks (each test skips with it), or null. */
    private static String skipReason;

    @BeforeAll
    static void loadNvrtcBesideAStubDriver() throws Exception {
        if (!Boolean.getBoolean("jresnet.nvrtcJvm")) {
            skipReason = "runs only in the Surefire execution 'nvrtc' of java/pom.xml (a JVM of its own, as it loads"
                    + " a stub libcuda.so.1): mvn test -pl java -Dtest=KernelCompilerNvrtcTest";
            return;
        }
        String gcc = Toolchain.find("CC", "gcc");
        String why = Toolchain.whyMissing(gcc, "CC", "gcc");
        if (why != null) {
            String reason = why + ": NVRTC compilation of native/*.cu not checked (gcc builds the stub libcuda.so.1)";
            if (Boolean.getBoolean(REQUIRE)) {
                fail(reason + " (and -D" + REQUIRE + "=true)");
            }
            skipReason = reason;
            return;
        }
        Path c = tmp.resolve("libcuda_stub.c");
        Files.writeString(c, "void jresnet_libcuda_stub(void) {}\n", StandardCharsets.UTF_8);
        Path stub = tmp.resolve("libcuda.so.1");
        Toolchain.run(List.of(gcc, "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o", stub.toString(),
                c.toString()), 120, "building the stub libcuda.so.1");
        System.load(stub.toString());
        try {
            Loader.load(nvrtc.class);
        } catch (LinkageError e) {
            fail("NVRTC does not load beside the stub libcuda.so.1: " + CudaAvailability.explain(e)
                    + " (org.bytedeco:cuda-redist must be on this execution's classpath, see java/pom.xml"
                    + (System.getenv("LD_BIND_NOW") != null ? "; LD_BIND_NOW is set, which binds the driver's"
                    + " symbols at load time: unset it" : "") + ")", e);
        }
        compiler = new KernelCompiler(tmp.resolve("kernels"));
    }

    @BeforeEach
    void skipUnlessLoaded() {
        if (skipReason != null) {
            abort(skipReason);
        }
    }

    static Stream<Arguments> filesAndArchs() {
        return ARCHS.stream().flatMap(arch -> KernelSources.FILES.stream().map(file -> Arguments.of(file, arch)));
    }

    @ParameterizedTest(name = "KernelCompiler {1} {0}")
    @MethodSource("filesAndArchs")
    void compilesEveryKernel(String file, String arch) throws Exception {
        String source = KernelSources.read(file);
        byte[] cubin = compiler.cubin(file, source, arch);
        CubinElf.assertKernels(file, arch, cubin);
        Path cached = compiler.cachePath(file, source, arch, Nvrtc.version());
        assertArrayEquals(cubin, Files.readAllBytes(cached), file + " for " + arch + ": the cache entry differs");
    }

    @Test
    void nvrtcIsThePresetsVersionAndSupportsTheArchitectures() {
        String presets = System.getProperty("jresnet.cudaPresets");
        assertNotNull(presets, "java/pom.xml passes the presets' CUDA version as jresnet.cudaPresets");
        String version = Nvrtc.version();
        assertTrue(presets.startsWith(version + "-"), () -> "NVRTC " + version + " is not cuda-redist's (" + presets
                + "): another NVRTC was loaded");
        int[] archs = Nvrtc.supportedArchs();
        System.out.println("NVRTC " + version + " compiles for sm_" + Arrays.toString(archs));
        for (String arch : ARCHS) {
            int sm = Integer.parseInt(arch.substring(3));
            assertTrue(Arrays.stream(archs).anyMatch(a -> a == sm), () -> "NVRTC " + version + " lacks " + arch);
        }
    }

    @Test
    void secondCallReadsTheCacheAndADamagedEntryIsRecompiled() throws Exception {
        KernelCompiler c = new KernelCompiler(tmp.resolve("cache-test"));
        String file = "softmax.cu", arch = "sm_90", source = KernelSources.read(file);
        Path entry = c.cachePath(file, source, arch, Nvrtc.version());
        assertFalse(Files.exists(entry));
        byte[] first = c.cubin(file, source, arch);
        assertArrayEquals(first, Files.readAllBytes(entry));

        // Mark the entry: a recompilation would return NVRTC's bytes, a cache hit returns the marked ones.
        byte[] marked = Arrays.copyOf(first, first.length + 16);
        Arrays.fill(marked, first.length, marked.length, (byte) 0x5a);
        Files.write(entry, marked);
        assertArrayEquals(marked, c.cubin(file, source, arch), "the second call did not read the cache");

        // Not an ELF file: compiled again and the entry replaced.
        Files.writeString(entry, "not a CUBIN, longer than sixty-four bytes ................................");
        byte[] again = c.cubin(file, source, arch);
        CubinElf.assertKernels(file, arch, again);
        assertArrayEquals(again, Files.readAllBytes(entry));

        c.evict(file, source, arch);
        assertFalse(Files.exists(entry));
    }

    @Test
    void cubinParserRejectsDamagedFilesWithoutReadingOutOfBounds() {
        byte[] cubin = compiler.cubin("softmax.cu", KernelSources.read("softmax.cu"), "sm_90");
        for (int len = 0; len < cubin.length; len += 7) {
            parsesOrRejects(Arrays.copyOf(cubin, len));
        }
        java.util.Random random = new java.util.Random(9);
        for (int trial = 0; trial < 2000; trial++) {
            byte[] damaged = cubin.clone();
            for (int k = 0; k < 4; k++) {
                damaged[random.nextInt(damaged.length)] = (byte) random.nextInt(256);
            }
            parsesOrRejects(damaged);
        }
    }

    private static void parsesOrRejects(byte[] bytes) {
        try {
            CubinElf.parse(bytes).kernels();
        } catch (IllegalArgumentException expected) {
            // a clear rejection; anything else (an index out of bounds, an overflow) fails the test
        }
    }

    @Test
    void compileErrorNamesTheFileAndCarriesNvrtcsLog() {
        String broken = "extern \"C\" __global__ void broken(float* x) {\n    x[0] = jr_undefined_name;\n}\n";
        KernelCompiler c = new KernelCompiler(tmp.resolve("broken"));
        CudaException e = assertThrows(CudaException.class, () -> c.cubin("broken.cu", broken, "sm_90"));
        String m = e.getMessage();
        assertEquals(CudaException.Library.NVRTC, e.library(), m);
        assertEquals("nvrtcCompileProgram", e.call(), m);
        assertTrue(m.contains("NVRTC_ERROR_COMPILATION"), m);
        assertTrue(m.contains("broken.cu for sm_90 with --gpu-architecture=sm_90 " + String.join(" ", KernelCompiler.OPTIONS)), m);
        assertTrue(m.contains("broken.cu(2): error: identifier \"jr_undefined_name\" is undefined"), m);
        assertFalse(Files.exists(c.cachePath("broken.cu", broken, "sm_90", Nvrtc.version())), "a failure was cached");
    }

    @Test
    void unsupportedArchitectureNamesItAndTheNvrtcVersion() {
        // sm_35 (Kepler) left NVRTC in CUDA 12.0; it will not come back.
        CudaException e = assertThrows(CudaException.class,
                () -> KernelCompiler.compile("softmax.cu", KernelSources.read("softmax.cu"), "sm_35"));
        assertTrue(e.getMessage().contains("NVRTC " + Nvrtc.version() + " cannot compile for sm_35"), e.getMessage());
    }
}
