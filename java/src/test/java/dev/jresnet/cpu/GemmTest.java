package dev.jresnet.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GemmTest {
    /** The Vector API kernel, loaded directly: tests always run with the incubator module. */
    static GemmKernel vector() {
        try {
            return (GemmKernel) Class.forName("dev.jresnet.cpu.VectorGemm").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /** Plain, the default Vector API kernel, and every other register tile on small blockings (several blocks). */
    static List<GemmKernel> kernels() {
        List<GemmKernel> list = new ArrayList<>(List.of(new PlainGemm(), vector()));
        for (VectorTiles.Tile t : VectorTiles.Tile.values()) {
            list.add(new VectorGemm(t, 64, 4 * t.vectors * VectorTiles.L));
        }
        return list;
    }

    /** Awkward sizes: 1, below and above the tile sizes (6 x 16), primes, and past the blocking (256, 512). */
    static Stream<Arguments> sizes() {
        int[][] mnk = {
                {1, 1, 1}, {1, 7, 33}, {7, 1, 5}, {5, 17, 3}, {6, 16, 1}, {7, 33, 100}, {13, 100, 7},
                {33, 33, 33}, {100, 49, 257}, {64, 300, 147}, {37, 530, 300}, {130, 1025, 20}, {2, 3, 600},
        };
        List<Arguments> args = new ArrayList<>();
        for (GemmKernel k : kernels()) {
            for (int[] s : mnk) {
                args.add(Arguments.of(k, s[0], s[1], s[2]));
            }
        }
        return args.stream();
    }

    @ParameterizedTest(name = "{0} m={1} n={2} k={3}")
    @MethodSource("sizes")
    void matchesDoublePrecisionGemm(GemmKernel kernel, int m, int n, int k) {
        // Offsets and leading dimensions larger than the matrices catch indexing mistakes.
        int lda = k + 3, ldb = n + 5, ldc = n + 2, aOff = 4, bOff = 1, cOff = 7;
        float[] a = Naive.randomArray(1, aOff + m * lda);
        float[] b = Naive.randomArray(2, bOff + k * ldb);
        float[] c0 = Naive.randomArray(3, cOff + m * ldc);
        for (boolean accumulate : new boolean[] {false, true}) {
            float[] want = c0.clone();
            float[] got = c0.clone();
            Naive.gemm(m, n, k, a, aOff, lda, b, bOff, ldb, want, cOff, ldc, accumulate);
            kernel.gemm(m, n, k, a, aOff, lda, b, bOff, ldb, got, cOff, ldc, accumulate);
            check(kernel.name() + " accumulate=" + accumulate, got, want, k);
            float[] parallel = c0.clone();
            Gemm.parallel(kernel, m, n, k, a, aOff, lda, b, bOff, ldb, parallel, cOff, ldc, accumulate);
            check(kernel.name() + " parallel accumulate=" + accumulate, parallel, want, k);
        }
    }

    @Test
    void resnetShapeOnBothKernelsInParallel() {
        int m = 64, n = 3136, k = 576; // layer1's 3x3 conv, one image
        float[] a = Naive.randomArray(4, m * k), b = Naive.randomArray(5, k * n);
        float[] want = new float[m * n];
        Naive.gemm(m, n, k, a, 0, k, b, 0, n, want, 0, n, false);
        for (GemmKernel kernel : kernels()) {
            float[] got = new float[m * n];
            Gemm.parallel(kernel, m, n, k, a, 0, k, b, 0, n, got, 0, n, false);
            check(kernel.name(), got, want, k);
        }
    }

    /** Outside the multiplied block, C must be untouched (a chunk of a conv output shares rows with others). */
    @Test
    void writesOnlyItsBlockOfC() {
        int m = 7, n = 19, k = 9, ldc = 40;
        float[] a = Naive.randomArray(6, m * k), b = Naive.randomArray(7, k * n);
        for (GemmKernel kernel : kernels()) {
            float[] c = new float[3 + m * ldc + 5];
            java.util.Arrays.fill(c, 42f);
            kernel.gemm(m, n, k, a, 0, k, b, 0, n, c, 3, ldc, false);
            for (int i = 0; i < c.length; i++) {
                int rel = i - 3;
                boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
                if (!inside) {
                    assertEquals(42f, c[i], kernel.name() + " wrote outside C at " + i);
                }
            }
        }
    }

    @Test
    void rejectsOutOfBoundsOperands() {
        for (GemmKernel kernel : kernels()) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> kernel.gemm(4, 4, 4, new float[16], 0, 4, new float[15], 0, 4, new float[16], 0, 4, false));
            assertTrue(e.getMessage().contains("B 4x4"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> kernel.gemm(4, 4, 4, new float[16], 0, 3, new float[16], 0, 4, new float[16], 0, 4, false));
        }
        GemmKernel.PackedMatrix plainPacked = new PlainGemm().pack(2, 2, new float[4], 0, 2);
        assertThrows(IllegalArgumentException.class,
                () -> vector().gemm(plainPacked, 2, new float[4], 0, 2, new float[4], 0, 2, false));
    }

    @Test
    void activeKernelIsTheVectorOneWhenTheModuleIsPresent() {
        String expected = "plain".equals(System.getProperty("jresnet.cpu.kernel")) ? "plain" : "vector";
        assertTrue(Gemm.kernelName().startsWith(expected), Gemm.kernelName());
    }

    @Test
    void kernelSelection() {
        assertEquals("plain", Gemm.choose("plain", true).name());
        assertEquals("plain", Gemm.choose("auto", false).name());
        assertTrue(Gemm.choose("auto", true).name().startsWith("vector"));
        assertTrue(Gemm.choose("vector", true).name().startsWith("vector"));
        assertThrows(IllegalStateException.class, () -> Gemm.choose("vector", false));
        assertThrows(IllegalArgumentException.class, () -> Gemm.choose("fast", true));
        // The lab's variants: a tile by name (NR in floats), optionally with its blocking.
        String sixByTwo = "6x" + 2 * VectorTiles.L;
        assertTrue(Gemm.choose("vector-" + sixByTwo, true).name().endsWith("bit-" + sixByTwo));
        VectorGemm blocked = VectorGemm.variant(sixByTwo + "/kc128/nc" + 8 * VectorTiles.L);
        assertEquals(128, blocked.kc);
        assertEquals(8 * VectorTiles.L, blocked.nc);
        assertThrows(IllegalArgumentException.class, () -> Gemm.choose("vector-5x7", true));
        assertThrows(IllegalStateException.class, () -> Gemm.choose("vector-" + sixByTwo, false));
        assertThrows(IllegalArgumentException.class, () -> VectorGemm.variant(sixByTwo + "/mc4"));
    }

    /**
     * Every register tile and blocking gives bitwise the default kernel's C (each element sees the same chain
     * of fused multiply-adds), on shapes with edge tiles in M and N and several KC and NC blocks.
     */
    @Test
    void everyTileIsBitwiseTheDefault() {
        int[][] mnk = {{1, 1, 1}, {7, 33, 100}, {13, 100, 7}, {37, 530, 300}, {29, 97, 129}, {64, 200, 576}};
        GemmKernel reference = vector();
        for (int[] s : mnk) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = Naive.randomArray(11, m * k), b = Naive.randomArray(12, k * n), c0 = Naive.randomArray(13, m * n);
            for (boolean accumulate : new boolean[] {false, true}) {
                float[] want = c0.clone();
                reference.gemm(m, n, k, a, 0, k, b, 0, n, want, 0, n, accumulate);
                for (VectorTiles.Tile t : VectorTiles.Tile.values()) {
                    for (int kc : new int[] {16, 64, 512}) {
                        VectorGemm g = new VectorGemm(t, kc, 2 * t.vectors * VectorTiles.L);
                        float[] got = c0.clone();
                        g.gemm(m, n, k, a, 0, k, b, 0, n, got, 0, n, accumulate);
                        assertArrayEquals(want, got, g.detail() + " m=" + m + " n=" + n + " k=" + k
                                + " accumulate=" + accumulate);
                    }
                }
            }
        }
    }

    /**
     * A block's narrower last strip runs a narrower tile with the same rows (8x16 after 8x48 for 49 columns):
     * bitwise the full-width edge tile and the default kernel, close to the plain kernel, for column counts
     * around the vector and strip widths and ResNet's 7x7 and 14x14 maps, odd M and K, with several blocks.
     */
    @Test
    void narrowEdgeStripsAreBitwiseTheWideOnes() {
        int[] ns = {1, 15, 16, 17, 31, 33, 47, 49, 196};
        int[][] mk = {{8, 147}, {13, 33}, {17, 577}};
        GemmKernel reference = vector(), plain = new PlainGemm();
        for (int n : ns) {
            for (int[] s : mk) {
                int m = s[0], k = s[1];
                float[] a = Naive.randomArray(31, m * k), b = Naive.randomArray(32, k * n), c0 = Naive.randomArray(33, m * n);
                for (boolean accumulate : new boolean[] {false, true}) {
                    float[] want = c0.clone();
                    reference.gemm(m, n, k, a, 0, k, b, 0, n, want, 0, n, accumulate);
                    float[] close = c0.clone();
                    plain.gemm(m, n, k, a, 0, k, b, 0, n, close, 0, n, accumulate);
                    check("plain vs " + reference.name() + " n=" + n, want, close, k);
                    for (VectorTiles.Tile t : VectorTiles.Tile.values()) {
                        for (boolean narrow : new boolean[] {true, false}) {
                            VectorGemm g = new VectorGemm(t, 64, 2 * t.vectors * VectorTiles.L, narrow);
                            String what = g.detail() + " m=" + m + " n=" + n + " k=" + k + " accumulate=" + accumulate;
                            float[] got = c0.clone();
                            g.gemm(m, n, k, a, 0, k, b, 0, n, got, 0, n, accumulate);
                            assertArrayEquals(want, got, what);
                            float[] parallel = c0.clone();
                            Gemm.parallel(g, m, n, k, a, 0, k, b, 0, n, parallel, 0, n, accumulate);
                            assertArrayEquals(want, parallel, what + " parallel");
                        }
                    }
                }
            }
        }
        // The lab's names: "/wide" turns the narrow tiles off.
        String eightByThree = "8x" + 3 * VectorTiles.L;
        assertTrue(VectorGemm.variant(eightByThree).narrow);
        assertTrue(!VectorGemm.variant(eightByThree + "/wide").narrow);
        assertTrue(VectorGemm.variant(eightByThree + "/wide").detail().endsWith("/wide"));
    }

    /** A packed A is only accepted by a kernel with the same MR and KC. */
    @Test
    void packedAMustMatchTheTile() {
        VectorGemm a = new VectorGemm(VectorTiles.Tile.R6V2, 64, 256), b = new VectorGemm(VectorTiles.Tile.R8V3, 64, 256);
        GemmKernel.PackedMatrix packed = a.pack(8, 8, new float[64], 0, 8);
        assertThrows(IllegalArgumentException.class, () -> b.gemm(packed, 8, new float[64], 0, 8, new float[64], 0, 8, false));
    }

    /**
     * Blocking from the caches: sysfs and getconf sizes parsed, nonsense not believed; A strip in half of L1, B in
     * half of L2.
     */
    @Test
    void blockingFollowsTheCaches() {
        assertEquals(48 << 10, VectorGemm.Caches.parse("48K", 1));
        assertEquals(2 << 20, VectorGemm.Caches.parse("2M", 1));
        assertEquals(1, VectorGemm.Caches.parse("huge", 1));
        assertEquals(1, VectorGemm.Caches.parse("1K", 1));
        // getconf's plain bytes (a VM without sysfs's cache directories); an unknown variable gives no answer
        assertEquals(48 << 10, VectorGemm.Caches.parse("49152", 1));
        assertEquals(1, VectorGemm.Caches.parse(
                VectorGemm.Caches.getconf().getOrDefault("JRESNET_NO_SUCH_VARIABLE", ""), 1));
        assertEquals(java.util.Map.of("LEVEL1_DCACHE_SIZE", "49152", "LEVEL2_CACHE_SIZE", "1048576"),
                VectorGemm.Caches.parseGetconf("LEVEL1_DCACHE_SIZE                 49152\n"
                        + "LEVEL2_CACHE_SIZE                  1048576\nLEVEL4_CACHE_SIZE                  \n"));
        assertTrue(VectorGemm.Caches.L1 >= 8 << 10 && VectorGemm.Caches.L2 >= VectorGemm.Caches.L1,
                "L1 " + VectorGemm.Caches.L1 + ", L2 " + VectorGemm.Caches.L2);
        VectorTiles.Tile t = VectorTiles.Tile.R8V3;
        int kc = VectorGemm.kcFor(t, 48 << 10);
        assertTrue(kc * 8 * 4 <= 24 << 10 && kc >= 64 && kc % 16 == 0, "kc " + kc);
        int nc = VectorGemm.ncFor(t, kc, 2 << 20);
        assertTrue((long) kc * nc * 4 <= 1 << 20 && nc % (3 * VectorTiles.L) == 0, "nc " + nc);
    }

    static void check(String what, float[] got, float[] want, int k) {
        Naive.Error e = Naive.error(got, want);
        // float32 accumulation over k products of values in [-1, 1]: error grows like sqrt(k) * 2^-24.
        double tol = 1e-6 * Math.sqrt(k) * 4 + 1e-6;
        assertTrue(e.maxAbs() <= tol, what + ": " + e + " (tolerance " + tol + ")");
    }
}
