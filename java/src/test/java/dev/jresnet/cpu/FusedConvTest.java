package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fused convolution (packed weights, BN/residual/ReLU epilogue) against the unfused reference ops. */
class FusedConvTest {

    @ParameterizedTest(name = "in [{0},{1},{2},{3}] weight [{4},{1}/g,{5},{5}] stride {6} pad {7} residual {8} relu {9} groups {10}")
    @CsvSource({
            "1, 3, 32, 32, 64, 7, 2, 3, false, true, 1",     // stem
            "3, 3, 23, 19, 8, 7, 2, 3, false, true, 1",      // stem, odd size, batch 3
            "2, 16, 14, 14, 16, 3, 1, 1, false, true, 1",    // 3x3
            "3, 8, 15, 15, 12, 3, 2, 1, false, false, 1",    // 3x3 stride 2, odd
            "1, 32, 9, 9, 20, 1, 1, 0, true, true, 1",       // 1x1 with residual
            "3, 24, 56, 56, 16, 1, 1, 0, true, true, 1",     // large image: chunks inside images
            "2, 24, 13, 13, 40, 1, 2, 0, false, false, 1",   // downsample
            "3, 64, 7, 7, 70, 3, 1, 1, false, true, 1",      // chunks spanning images
            "8, 16, 7, 7, 33, 1, 1, 0, true, true, 1",       // batch 8 on 7x7
            "1, 600, 7, 7, 100, 1, 1, 0, true, true, 1",     // batch 1 on 7x7, deep: row blocks, several KC blocks
            "1, 64, 7, 7, 130, 3, 1, 1, false, true, 1",     // row blocks on a 3x3
            "2, 2, 1, 1, 3, 3, 1, 1, false, true, 1",        // 1x1 image, padding only
            "2, 8, 40, 40, 12, 3, 1, 1, true, true, 1",      // 3x3 on rows wider than a strip (vector copies)
            "3, 8, 20, 20, 10, 1, 1, 0, true, false, 1",     // 1x1 on small images: chunks span images
            "2, 5, 70, 45, 9, 3, 2, 1, false, true, 1",      // 3x3 stride 2, rows wider than a strip
            "2, 4, 56, 56, 8, 3, 1, 1, false, true, 1",      // layer1's 56-wide rows: strips over two output rows
            "1, 3, 120, 118, 8, 7, 2, 3, true, true, 1",     // stem on 60x59 outputs: phased runs over two rows
            "2, 32, 14, 14, 32, 3, 1, 1, false, true, 8", // ResNeXt's grouped 3x3
            "3, 16, 15, 15, 24, 3, 2, 1, true, true, 4",  // grouped, stride 2, with a residual
            "1, 64, 7, 7, 64, 3, 1, 1, false, false, 32", // 2 channels per group
    })
    void fusedIsBitwiseTheReference(int n, int c, int h, int w, int k, int r, int stride, int pad,
                                    boolean withResidual, boolean relu, int groups) {
        Tensor in = Naive.random(21, n, c, h, w);
        Tensor weight = Naive.random(22, k, c / groups, r, r);
        Tensor gamma = Naive.random(23, k), beta = Naive.random(24, k), mean = Naive.random(25, k);
        Tensor var = Naive.random(26, k);
        for (int i = 0; i < k; i++) {
            var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        }
        FusedConv fast = FusedConv.of(weight, stride, pad, groups, gamma, beta, mean, var, 1e-5f);
        FusedConv ref = FusedConv.reference(weight, stride, pad, groups, gamma, beta, mean, var, 1e-5f);
        int p = ref.outSize(h), q = (w + 2 * pad - r) / stride + 1;
        Tensor residual = withResidual ? Naive.random(27, n, k, p, q) : null;
        Tensor want = ref.forward(in, residual, relu);
        Tensor got = fast.forward(in, residual, relu);
        assertEquals(want.shape(), got.shape());
        assertTrue(Naive.hasNonZero(want.data()));
        if (fast.fused()) {
            assertArrayEquals(want.data(), got.data(), "fused on " + Gemm.kernelName() + " vs unfused ops");
            // Every other register tile, on a small blocking (several KC and NC blocks), bitwise the same.
            // Narrow edge strips (the default) and full-width ones.
            for (VectorTiles.Tile t : VectorTiles.Tile.values()) {
                for (boolean narrow : new boolean[] {true, false}) {
                    VectorGemm gemm = new VectorGemm(t, 32, 2 * t.vectors * VectorTiles.L, narrow);
                    FusedConv other = FusedConv.on(new VectorConv(gemm), weight, stride, pad, groups, gamma, beta,
                            mean, var, 1e-5f);
                    assertArrayEquals(want.data(), other.forward(in, residual, relu).data(),
                            "fused on " + gemm.detail() + " vs unfused ops");
                }
            }
        }
        // And the reference against the naive convolution, for good measure.
        Tensor naive = Naive.conv2d(in, weight, null, stride, pad, groups);
        CpuOps.batchNorm(naive, naive, gamma, beta, mean, var, 1e-5f, relu && residual == null);
        if (residual != null) {
            CpuOps.add(naive, naive, residual, relu);
        }
        double num = 0, den = 0;
        for (int i = 0; i < naive.size(); i++) {
            double d = got.data()[i] - naive.data()[i];
            num += d * d;
            den += (double) naive.data()[i] * naive.data()[i];
        }
        assertTrue(Math.sqrt(num / den) < 1e-5, "rel L2 vs naive " + Math.sqrt(num / den));
    }
}
