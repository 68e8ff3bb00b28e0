package dev.jresnet.cuda;

import dev.jresnet.tensor.Half;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Every kernel of native/ against a Java computation on random data, on a real GPU. */
@Tag("gpu")
class KernelsGpuTest {
    private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] STD = {0.229f, 0.224f, 0.225f};

    private static CudaContext context;
    private static dev.jresnet.cuda.Stream stream;
    private static Path cacheDir;
    private static KernelCompiler compiler;
    private static Kernels kernels;

    /** Per test, not @BeforeAll: surefire shows a class-level skip as "0 tests", hiding the reason. */
    @BeforeEach
    void open() throws IOException {
        GpuTests.assumeNvrtc();
        if (kernels != null) {
            return;
        }
        if (context == null) {
            context = CudaContext.open(0);
            stream = dev.jresnet.cuda.Stream.create();
            cacheDir = Files.createTempDirectory("jresnet-kernels");
            compiler = new KernelCompiler(cacheDir);
        }
        long t0 = System.nanoTime();
        kernels = Kernels.load(context, compiler);
        System.out.printf("kernels compiled for %s with NVRTC %s in %.0f ms%n", kernels.arch(), Nvrtc.version(),
                (System.nanoTime() - t0) / 1e6);
    }

    @AfterAll
    static void close() {
        if (kernels != null) {
            kernels.close();
        }
        if (stream != null) {
            stream.close();
        }
        if (context != null) {
            context.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static DeviceMemory upload(float[] data, String what) {
        DeviceMemory m = DeviceMemory.allocate(Math.max(4L * data.length, 1), what);
        m.buffer().upload(stream, data);
        return m;
    }

    private static DeviceMemory upload(short[] data, String what) {
        DeviceMemory m = DeviceMemory.allocate(Math.max(2L * data.length, 1), what);
        m.buffer().upload(stream, data);
        return m;
    }

    private static DeviceMemory upload(byte[] data, String what) {
        DeviceMemory m = DeviceMemory.allocate(Math.max(data.length, 1), what);
        m.buffer().upload(stream, data);
        return m;
    }

    private static float[] downloadFloats(DeviceMemory m, int n) {
        float[] a = new float[n];
        m.buffer().download(stream, a);
        return a;
    }

    private static short[] downloadShorts(DeviceMemory m, int n) {
        short[] a = new short[n];
        m.buffer().download(stream, a);
        return a;
    }

    private static float[] randomFloats(int n, long seed, float scale) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    /** Max |a - b| over the arrays, printed; NaN where exactly one side is NaN. */
    private static double maxAbsError(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            if (Float.isNaN(expected[i]) || Float.isNaN(actual[i])) {
                if (Float.isNaN(expected[i]) != Float.isNaN(actual[i])) {
                    max = Double.NaN;
                    break;
                }
                continue;
            }
            double d = expected[i] == actual[i] ? 0 : Math.abs((double) expected[i] - actual[i]);
            max = Math.max(max, d);
        }
        System.out.printf("%-50s max abs error %.3g over %d values%n", what, max, expected.length);
        return max;
    }

    private static float[] halvesToFloats(short[] h) {
        float[] f = new float[h.length];
        for (int i = 0; i < h.length; i++) {
            f[i] = Half.f16ToFloat(h[i]);
        }
        return f;
    }

    /** fp16 bit patterns equal, except that any NaN matches any NaN (the GPU may canonicalise payloads). */
    private static void assertSameHalves(String what, short[] expected, short[] actual) {
        for (int i = 0; i < expected.length; i++) {
            boolean eNaN = Float.isNaN(Half.f16ToFloat(expected[i])), aNaN = Float.isNaN(Half.f16ToFloat(actual[i]));
            if (eNaN || aNaN) {
                assertTrue(eNaN && aNaN, what + " element " + i);
            } else if (expected[i] != actual[i]) {
                fail(String.format("%s element %d: expected fp16 0x%04x (%s), GPU 0x%04x (%s)", what, i,
                        expected[i] & 0xffff, Half.f16ToFloat(expected[i]), actual[i] & 0xffff, Half.f16ToFloat(actual[i])));
            }
        }
    }

    // ---------------------------------------------------------------- loading and the cache

    @Test
    void cacheHoldsOneCubinPerFileAndIsReused() throws IOException {
        Map<String, FileTime> before = new HashMap<>();
        try (Stream<Path> files = Files.list(cacheDir)) {
            for (Path p : files.toList()) {
                before.put(p.getFileName().toString(), Files.getLastModifiedTime(p));
            }
        }
        assertEquals(KernelSources.FILES.size(), before.size(), before.toString());
        for (String file : KernelSources.FILES) {
            String stem = file.replace(".cu", "");
            assertTrue(before.keySet().stream().anyMatch(n -> n.startsWith(stem + "-" + kernels.arch() + "-")
                    && n.endsWith(".cubin")), stem + " not cached: " + before.keySet());
        }
        Kernels again = Kernels.load(context, compiler);
        again.close();
        again.close();
        assertThrows(IllegalStateException.class, () -> again.f32ToF16(stream, null, null, 0));
        try (Stream<Path> files = Files.list(cacheDir)) {
            for (Path p : files.toList()) {
                assertEquals(before.get(p.getFileName().toString()), Files.getLastModifiedTime(p), p + " was rewritten");
            }
        }
    }

    @Test
    void corruptCacheEntryIsRecompiled() throws IOException {
        Path dir = Files.createTempDirectory("jresnet-kernels-corrupt");
        KernelCompiler c = new KernelCompiler(dir);
        String source = KernelSources.read("softmax.cu");
        Path entry = c.cachePath("softmax.cu", source, context.device().arch(), Nvrtc.version());
        Files.write(entry, new byte[] {1, 2, 3, 4});
        try (Kernels k = Kernels.load(context, c)) {
            assertTrue(Files.size(entry) > 4, "the damaged entry was replaced");
            assertNotNull(k.arch());
        }
    }

    @Test
    void compilationErrorCarriesNvrtcLog() {
        String broken = "extern \"C\" __global__ void broken(float* p) { p[0] = not_declared_anywhere; }\n";
        CudaException e = assertThrows(CudaException.class,
                () -> KernelCompiler.compile("broken.cu", broken, context.device().arch()));
        System.out.println(e.getMessage());
        assertEquals(CudaException.Library.NVRTC, e.library());
        assertEquals("nvrtcCompileProgram", e.call());
        assertTrue(e.getMessage().contains("NVRTC_ERROR_COMPILATION"), e.getMessage());
        assertTrue(e.getMessage().contains("not_declared_anywhere"), e.getMessage());
    }

    // ---------------------------------------------------------------- preprocess.cu

    private static float normalise(int p, int c) {
        float x = p / 255.0f;
        x = (x - MEAN[c]) / STD[c];
        return x;
    }

    @Test
    void preprocessToNchwF32IsExact() {
        int n = 3, h = 37, w = 53;
        byte[] pixels = new byte[n * h * w * 3];
        new Random(10).nextBytes(pixels);
        float[] expected = new float[n * 3 * h * w];
        for (int b = 0; b < n; b++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    for (int c = 0; c < 3; c++) {
                        int p = pixels[((b * h + y) * w + x) * 3 + c] & 0xff;
                        expected[((b * 3 + c) * h + y) * w + x] = normalise(p, c);
                    }
                }
            }
        }
        try (DeviceMemory in = upload(pixels, "pixels");
             DeviceMemory out = DeviceMemory.allocate(4L * expected.length, "nchw f32")) {
            kernels.preprocessU8ToNchwF32(stream, in.buffer(), out.buffer(), n, h, w, MEAN, STD);
            float[] actual = downloadFloats(out, expected.length);
            assertEquals(0.0, maxAbsError("preprocess u8 HWC -> NCHW f32", expected, actual));
            assertArrayEquals(expected, actual);
        }
    }

    @Test
    void preprocessToNhwcF16IsExact() {
        int n = 2, h = 224, w = 224;
        byte[] pixels = new byte[n * h * w * 3];
        new Random(11).nextBytes(pixels);
        short[] expected = new short[pixels.length];
        for (int i = 0; i < pixels.length; i++) {
            expected[i] = Half.floatToF16(normalise(pixels[i] & 0xff, i % 3));
        }
        try (DeviceMemory in = upload(pixels, "pixels");
             DeviceMemory out = DeviceMemory.allocate(2L * expected.length, "nhwc f16")) {
            kernels.preprocessU8ToNhwcF16(stream, in.buffer(), out.buffer(), n, h, w, MEAN, STD);
            short[] actual = downloadShorts(out, expected.length);
            maxAbsError("preprocess u8 HWC -> NHWC f16", halvesToFloats(expected), halvesToFloats(actual));
            assertSameHalves("preprocess NHWC f16", expected, actual);
        }
    }

    /** The fp16 network input: 3 colours and 5 zeros per pixel, written over garbage. */
    @Test
    void preprocessToNhwcF16PadsChannelsWithZeros() {
        int n = 2, h = 31, w = 17, cOut = 8;
        byte[] pixels = new byte[n * h * w * 3];
        new Random(12).nextBytes(pixels);
        short[] expected = new short[n * h * w * cOut];
        for (int p = 0; p < n * h * w; p++) {
            for (int c = 0; c < 3; c++) {
                expected[p * cOut + c] = Half.floatToF16(normalise(pixels[p * 3 + c] & 0xff, c));
            }
        }
        try (DeviceMemory in = upload(pixels, "pixels");
             DeviceMemory out = DeviceMemory.allocate(2L * expected.length, "nhwc f16, 8 channels")) {
            out.buffer().fill(stream, 0x7b);
            kernels.preprocessU8ToNhwcF16(stream, in.buffer(), out.buffer(), n, h, w, cOut, MEAN, STD);
            assertSameHalves("preprocess NHWC f16, 8 channels", expected, downloadShorts(out, expected.length));
        }
    }

    // ---------------------------------------------------------------- convert.cu

    @Test
    void nchwF32ToNhwcF16() {
        for (int[] s : List.of(new int[] {2, 67, 5, 7}, new int[] {1, 3, 224, 224}, new int[] {3, 256, 14, 14},
                new int[] {64, 3, 7, 7})) {
            int n = s[0], c = s[1], h = s[2], w = s[3], hw = h * w;
            float[] in = randomFloats(n * c * hw, 20 + c, 3f);
            short[] expected = new short[in.length];
            for (int b = 0; b < n; b++) {
                for (int ch = 0; ch < c; ch++) {
                    for (int i = 0; i < hw; i++) {
                        expected[(b * hw + i) * c + ch] = Half.floatToF16(in[(b * c + ch) * hw + i]);
                    }
                }
            }
            try (DeviceMemory din = upload(in, "nchw");
                 DeviceMemory dout = DeviceMemory.allocate(2L * in.length, "nhwc")) {
                kernels.nchwF32ToNhwcF16(stream, din.buffer(), dout.buffer(), n, c, h, w);
                short[] actual = downloadShorts(dout, in.length);
                String what = "NCHW f32 -> NHWC f16 " + java.util.Arrays.toString(s);
                maxAbsError(what, halvesToFloats(expected), halvesToFloats(actual));
                assertSameHalves(what, expected, actual);
            }
        }
    }

    /** The fp16 network input from fp32 NCHW: channels 3..7 zero, written over garbage. */
    @Test
    void nchwF32ToNhwcF16PadsChannelsWithZeros() {
        int n = 3, c = 3, h = 37, w = 29, cOut = 8;
        float[] in = randomFloats(n * c * h * w, 41, 3f);
        short[] expected = HalfLayouts.nchwToNhwcHalf(in, n, c, h, w, cOut);
        try (DeviceMemory din = upload(in, "nchw");
             DeviceMemory dout = DeviceMemory.allocate(2L * expected.length, "nhwc, 8 channels")) {
            dout.buffer().fill(stream, 0x7b);
            kernels.nchwF32ToNhwcF16(stream, din.buffer(), dout.buffer(), n, c, h, w, cOut);
            assertSameHalves("NCHW f32 -> NHWC f16, 3 channels stored as 8", expected,
                    downloadShorts(dout, expected.length));
        }
        assertThrows(IllegalArgumentException.class, () -> kernels.nchwF32ToNhwcF16(stream, null, null, n, c, h, w, 2));
    }

    @Test
    void nhwcF16ToNchwF32() {
        for (int[] s : List.of(new int[] {2, 67, 5, 7}, new int[] {1, 3, 224, 224}, new int[] {2, 2048, 7, 7})) {
            int n = s[0], c = s[1], h = s[2], w = s[3], hw = h * w;
            float[] values = randomFloats(n * c * hw, 30 + c, 3f);
            short[] in = new short[values.length];
            for (int i = 0; i < in.length; i++) {
                in[i] = Half.floatToF16(values[i]);
            }
            float[] expected = new float[in.length];
            for (int b = 0; b < n; b++) {
                for (int ch = 0; ch < c; ch++) {
                    for (int i = 0; i < hw; i++) {
                        expected[(b * c + ch) * hw + i] = Half.f16ToFloat(in[(b * hw + i) * c + ch]);
                    }
                }
            }
            try (DeviceMemory din = upload(in, "nhwc");
                 DeviceMemory dout = DeviceMemory.allocate(4L * in.length, "nchw")) {
                kernels.nhwcF16ToNchwF32(stream, din.buffer(), dout.buffer(), n, c, h, w);
                float[] actual = downloadFloats(dout, in.length);
                assertEquals(0.0, maxAbsError("NHWC f16 -> NCHW f32 " + java.util.Arrays.toString(s), expected, actual));
                assertArrayEquals(expected, actual);
            }
        }
    }

    @Test
    void f32ToF16RoundsToNearestEven() {
        float[] random = randomFloats(100_003, 40, 1000f);
        float[] special = {0f, -0f, 1f, -1f, 65504f, 65520f, 65519.99f, 1e6f, -1e6f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.NaN, 5.96e-8f, 2.98e-8f, 2.99e-8f, 1e-10f, 6.1e-5f, 6.0e-5f,
                1.00048828125f /* tie: 1 + 2^-11 */, 1.00146484375f /* tie: 1 + 3 * 2^-11 */, Float.MIN_VALUE,
                Float.MAX_VALUE, 0.1f, 0.2f, 0.3f};
        float[] in = new float[random.length + special.length];
        System.arraycopy(random, 0, in, 0, random.length);
        System.arraycopy(special, 0, in, random.length, special.length);
        short[] expected = new short[in.length];
        for (int i = 0; i < in.length; i++) {
            expected[i] = Half.floatToF16(in[i]);
        }
        try (DeviceMemory din = upload(in, "f32");
             DeviceMemory dout = DeviceMemory.allocate(2L * in.length, "f16")) {
            kernels.f32ToF16(stream, din.buffer(), dout.buffer(), in.length);
            short[] actual = downloadShorts(dout, in.length);
            maxAbsError("f32 -> f16", halvesToFloats(expected), halvesToFloats(actual));
            assertSameHalves("f32 -> f16", expected, actual);
        }
    }

    @Test
    void f16ToF32IsExactForEveryHalf() {
        short[] in = new short[65536];
        float[] expected = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            in[i] = (short) i;
            expected[i] = Half.f16ToFloat(in[i]);
        }
        try (DeviceMemory din = upload(in, "all halves");
             DeviceMemory dout = DeviceMemory.allocate(4L * in.length, "f32")) {
            kernels.f16ToF32(stream, din.buffer(), dout.buffer(), in.length);
            float[] actual = downloadFloats(dout, in.length);
            assertEquals(0.0, maxAbsError("f16 -> f32 (all 65536 patterns)", expected, actual));
            for (int i = 0; i < in.length; i++) {
                if (!Float.isNaN(expected[i])) {
                    assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]),
                            "half 0x" + Integer.toHexString(i));
                }
            }
        }
    }

    // ---------------------------------------------------------------- pool.cu

    @Test
    void globalAveragePooling() {
        for (int[] s : List.of(new int[] {2, 2048, 7, 7}, new int[] {3, 37, 5, 9}, new int[] {1, 300, 1, 1})) {
            int n = s[0], c = s[1], h = s[2], w = s[3], hw = h * w;
            float[] values = randomFloats(n * c * hw, 50 + c, 2f);
            short[] nhwc = new short[values.length];
            float[] nchw = new float[values.length];
            double[] sumsHalf = new double[n * c];
            double[] sumsFloat = new double[n * c];
            for (int b = 0; b < n; b++) {
                for (int ch = 0; ch < c; ch++) {
                    for (int i = 0; i < hw; i++) {
                        float v = values[(b * c + ch) * hw + i];
                        nchw[(b * c + ch) * hw + i] = v;
                        short half = Half.floatToF16(v);
                        nhwc[(b * hw + i) * c + ch] = half;
                        sumsHalf[b * c + ch] += Half.f16ToFloat(half);
                        sumsFloat[b * c + ch] += v;
                    }
                }
            }
            float[] expectedFromHalf = new float[n * c];
            float[] expectedFromFloat = new float[n * c];
            for (int i = 0; i < n * c; i++) {
                expectedFromHalf[i] = (float) (sumsHalf[i] / hw);
                expectedFromFloat[i] = (float) (sumsFloat[i] / hw);
            }
            String shape = java.util.Arrays.toString(s);
            try (DeviceMemory dh = upload(nhwc, "nhwc");
                 DeviceMemory df = upload(nchw, "nchw");
                 DeviceMemory out = DeviceMemory.allocate(4L * n * c, "pooled")) {
                kernels.globalAvgPoolNhwcF16(stream, dh.buffer(), out.buffer(), n, c, h, w);
                double e1 = maxAbsError("global avg pool NHWC f16 " + shape, expectedFromHalf, downloadFloats(out, n * c));
                kernels.globalAvgPoolNchwF32(stream, df.buffer(), out.buffer(), n, c, h, w);
                double e2 = maxAbsError("global avg pool NCHW f32 " + shape, expectedFromFloat, downloadFloats(out, n * c));
                assertTrue(e1 <= 1e-5, "NHWC f16 error " + e1);
                assertTrue(e2 <= 1e-5, "NCHW f32 error " + e2);
            }
        }
    }

    // ---------------------------------------------------------------- softmax.cu

    private static float[] softmaxReference(float[] x, int rows, int cols) {
        float[] y = new float[x.length];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                max = Math.max(max, x[r * cols + j]);
            }
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                sum += Math.exp(x[r * cols + j] - max);
            }
            for (int j = 0; j < cols; j++) {
                y[r * cols + j] = (float) (Math.exp(x[r * cols + j] - max) / sum);
            }
        }
        return y;
    }

    @Test
    void softmaxRows() {
        for (int[] s : List.of(new int[] {4, 1000}, new int[] {3, 37}, new int[] {1, 1}, new int[] {2, 5000})) {
            int rows = s[0], cols = s[1];
            float[] logits = randomFloats(rows * cols, 60 + cols, 8f);
            float[] expected = softmaxReference(logits, rows, cols);
            try (DeviceMemory in = upload(logits, "logits");
                 DeviceMemory out = DeviceMemory.allocate(4L * logits.length, "probabilities")) {
                kernels.softmaxRowsF32(stream, in.buffer(), out.buffer(), rows, cols);
                double e = maxAbsError("softmax rows " + rows + "x" + cols, expected, downloadFloats(out, logits.length));
                assertTrue(e <= 1e-6, "error " + e);
                kernels.softmaxRowsF32(stream, in.buffer(), in.buffer(), rows, cols); // in place
                double inPlace = maxAbsError("softmax rows in place " + rows + "x" + cols, expected,
                        downloadFloats(in, logits.length));
                assertTrue(inPlace <= 1e-6, "in-place error " + inPlace);
            }
        }
    }

    @Test
    void launchesCheckBufferSizes() {
        try (DeviceMemory small = DeviceMemory.allocate(16, "too small")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> kernels.softmaxRowsF32(stream, small.buffer(), small.buffer(), 2, 1000));
            assertTrue(e.getMessage().contains("softmax_rows_f32"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> kernels.preprocessU8ToNchwF32(stream, small.buffer(), small.buffer(), 1, 224, 224, MEAN, STD));
            assertThrows(IllegalArgumentException.class,
                    () -> kernels.preprocessU8ToNchwF32(stream, small.buffer(), small.buffer(), 0, 0, 0, new float[2], STD));
        }
        stream.synchronize(); // nothing was launched, nothing failed
    }
}
