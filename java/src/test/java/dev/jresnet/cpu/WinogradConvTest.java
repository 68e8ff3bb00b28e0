package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Winograd's F(2x2, 3x3) on blocked activations against the convolution computed in float64 and against the
 * reference ops (which the exact direct convolution equals bit for bit): within 1e-6 relative L2 per layer.
 */
class WinogradConvTest {
    /**
     * The bound per layer, against the reference ops and against float64: measured 2.2-9.5e-7 against the reference
     * ops, most of it the reference's own rounding (4.3-8.1e-7 against float64 on ResNet's layers, one chain of C·9
     * terms), and 1.8-5.2e-7 against float64 (16 chains of C terms: closer to float64 than the reference is).
     */
    private static final double BOUND = 1e-6;

    @ParameterizedTest(name = "in [{0},{1},{2},{3}] out channels {4} residual {5} relu {6}")
    @CsvSource({
            "1, 64, 56, 56, 64, false, true",      // layer1's 3x3
            "1, 128, 28, 28, 128, false, true",    // layer2.s
            "1, 256, 14, 14, 256, false, true",    // layer3's: 49 tiles (one block of 49 on 1 MB of L2, else 28 + 21)
            "3, 32, 6, 10, 64, true, false",       // not square, 15 tiles (one partial block), residual, no ReLU
            "1, 16, 2, 2, 64, false, false",       // one tile
            "1, 256, 7, 7, 256, false, true",      // layer3 of a 112-pixel input: odd, 7 of 16 tiles half outside
            "2, 32, 5, 8, 64, true, false",        // odd height only, residual
            "1, 16, 6, 3, 64, false, true",        // odd width only
            "1, 16, 1, 1, 64, true, true",         // a single pixel: one tile, three quarters outside
    })
    void withinTheBoundOfTheReference(int n, int c, int h, int w, int k, boolean withResidual, boolean relu) {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM (--add-modules jdk.incubator.vector)");
        assumeTrue(c % DirectConv.lanes() == 0 && k % (4 * DirectConv.lanes()) == 0, "needs whole 512-bit tiles");
        Tensor in = Naive.random(71, n, c, h, w), weight = Naive.random(72, k, c, 3, 3);
        Tensor gamma = Naive.random(73, k), beta = Naive.random(74, k), mean = Naive.random(75, k);
        Tensor var = Naive.random(76, k);
        for (int i = 0; i < k; i++) {
            var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        }
        Tensor residual = withResidual ? Naive.random(77, n, k, h, w) : null;
        Tensor want = FusedConv.reference(weight, 1, 1, 1, gamma, beta, mean, var, 1e-5f).forward(in, residual, relu);
        Tensor exact = Naive.convBn3x3Float64(in, weight, 1, gamma, beta, mean, var, residual, relu);

        DirectConv d = DirectConv.of(weight, 1, 1, gamma, beta, mean, var, 1e-5f, 4, 7, true);
        assertTrue(d.winograd());
        int l = DirectConv.lanes();
        Tensor bin = DirectConvTest.blocked(in, l), bres = residual == null ? null : DirectConvTest.blocked(residual, l);
        Tensor out = Naive.random(79, Blocked.shape(n, k, h, w, l).dims());
        Blocked.zeroBorder(out);
        d.forward(out, bin, bres, relu);
        d.forward(out, bin, bres, relu);  // again: a thread's scratch holds the last call's values
        Tensor got = Tensor.zeros(want.shape());
        Blocked.toNchw(got, out);

        Naive.Error vsRef = Naive.error(got.data(), want.data());
        Naive.Error vs64 = Naive.error(got.data(), exact.data()), ref64 = Naive.error(want.data(), exact.data());
        String report = "winograd vs reference ops: " + vsRef + "; vs float64: " + vs64 + "; reference vs float64: "
                + ref64;
        assertTrue(vsRef.relL2() <= BOUND, report);
        assertTrue(vs64.relL2() <= BOUND, report);
        assertTrue(vsRef.relL2() > 0, "not bit for bit the reference: a test of Winograd, not of the direct tiles");
        assertTrue(DirectConvTest.borderIsZero(out), "the output's border must stay zero");
    }

    @Test
    void otherLayersRunDirect() {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        int k = 4 * DirectConv.lanes(), c = DirectConv.lanes();
        Tensor weight = Naive.random(81, k, c, 3, 3), g = Naive.random(82, k), var = Tensor.zeros(k);
        java.util.Arrays.fill(var.data(), 1f);
        DirectConv strided = DirectConv.of(weight, 2, 1, g, g, g, var, 1e-5f, 4, 7, false);
        assertFalse(DirectConv.of(weight, 2, 1, g, g, g, var, 1e-5f, 4, 7, true).winograd(), "stride 2");
        assertFalse(DirectConv.of(weight, 1, 1, g, g, g, var, 1e-5f).winograd(), "not asked for");
        assertFalse(DirectConv.of(weight, 1, 1, g, g, g, var, 1e-5f, 2, 7, true).winograd(), "not the default tile");
        Tensor wide = Naive.random(84, 4 * DirectConv.lanes(), 512, 3, 3);
        assertFalse(DirectConv.of(wide, 1, 1, g, g, g, var, 1e-5f, 4, 7, true).winograd(), "512 channels: layer4");
        Tensor in = Naive.random(83, 1, c, 7, 7);
        Tensor want = FusedConv.reference(weight, 2, 1, 1, g, g, g, var, 1e-5f).forward(in, null, true);
        Tensor out = Tensor.zeros(Blocked.shape(1, k, 4, 4, DirectConv.lanes())), got = Tensor.zeros(want.shape());
        strided.forward(out, DirectConvTest.blocked(in, DirectConv.lanes()), null, true);
        Blocked.toNchw(got, out);
        assertArrayEquals(want.data(), got.data());
    }

    @Test
    void refusesWrongOperands() {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        int k = 4 * DirectConv.lanes(), c = DirectConv.lanes(), l = DirectConv.lanes();
        Tensor weight = Naive.random(91, k, c, 3, 3), g = Naive.random(92, k), var = Tensor.zeros(k);
        java.util.Arrays.fill(var.data(), 1f);
        DirectConv d = DirectConv.of(weight, 1, 1, g, g, g, var, 1e-5f, 4, 7, true);
        Tensor in = Tensor.zeros(Blocked.shape(1, c, 8, 8, l)), out = Tensor.zeros(Blocked.shape(1, k, 8, 8, l));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> d.forward(Tensor.zeros(Blocked.shape(1, k, 6, 8, l)), in, null, true));
        assertTrue(e.getMessage().startsWith("direct conv output"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> d.forward(out, in, Tensor.zeros(Blocked.shape(1, k, 8, 6, l)), true));
        assertTrue(e.getMessage().startsWith("direct conv residual"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> d.forward(out, in, out, true));
        assertEquals("direct conv: the output must not share its array with an operand", e.getMessage());
        IllegalStateException planar = assertThrows(IllegalStateException.class, () -> d.forwardPlanar(out,
                Tensor.zeros(1, c, 8, 8), Tensor.zeros(1, c, 10, 10), true));
        assertTrue(planar.getMessage().startsWith("direct conv: this layer runs by Winograd"), planar.getMessage());
    }

    /**
     * Tiles a task: 4 strips of the register tile, or 7 where a group's U and a task's V overflow L2 (layer3's 256
     * channels on 1 MB), in balanced blocks of whole strips.
     */
    @Test
    void tilesPerTaskWidenWhereTheWeightsOverflowL2() {
        assumeTrue(DirectConv.available() && DirectConv.lanes() == 16, "the sizes below are 512-bit vectors'");
        long mb = 1 << 20;
        assertEquals(49, WinogradConv.tilesPerTask(49, 256, mb));    // layer3 at batch 1: one block, U streamed once
        assertEquals(49, WinogradConv.tilesPerTask(392, 256, mb));   // layer3 at batch 8: 8 blocks of 49
        assertEquals(28, WinogradConv.tilesPerTask(50, 256, mb));    // 2 blocks of 25, rounded up to whole strips
        assertEquals(28, WinogradConv.tilesPerTask(49, 256, 2 * mb)); // U and V fit a 2 MB L2: 4 strips (28 + 21)
        assertEquals(28, WinogradConv.tilesPerTask(196, 128, mb));   // layer2: its U (512 KB) fits
        assertEquals(28, WinogradConv.tilesPerTask(784, 64, mb));    // layer1
        assertEquals(7, WinogradConv.tilesPerTask(1, 256, mb));      // a single tile: one strip
    }

    /** The same sums in the same order whatever the block of tiles a task takes: bit for bit. */
    @ParameterizedTest(name = "{0} images of 256x14x14 in blocks of {1} tiles")
    @CsvSource({"1, 7", "1, 28", "1, 49", "2, 49", "2, 35"})
    void blocksOfTilesChangeNoBit(int n, int perTask) {
        assumeTrue(DirectConv.available() && DirectConv.lanes() == 16, "the register tile of 512-bit vectors");
        int c = 256, k = 64, h = 14, l = DirectConv.lanes();
        Tensor in = Naive.random(101, n, c, h, h), weight = Naive.random(102, k, c, 3, 3), g = Naive.random(103, k);
        Tensor var = Tensor.zeros(k), res = DirectConvTest.blocked(Naive.random(104, n, k, h, h), l);
        java.util.Arrays.fill(var.data(), 1.5f);
        float[] scale = new float[k], shift = new float[k];
        CpuOps.batchNormScaleShift(g, g, g, var, 1e-5f, scale, shift);
        float[] packed = new float[WinogradConv.packedFloats(k, c)];
        WinogradConv w = new WinogradConv(weight.data(), k, c, scale, shift, packed, 0);
        Tensor bin = DirectConvTest.blocked(in, l);
        Tensor want = Tensor.zeros(Blocked.shape(n, k, h, h, l)), got = Tensor.zeros(Blocked.shape(n, k, h, h, l));
        w.forward(want, bin, res, true, 128, 28);
        w.forward(got, bin, res, true, 128, perTask);
        assertArrayEquals(want.data(), got.data());
        float[] y = want.data();
        long nonZero = java.util.stream.IntStream.range(0, y.length).filter(i -> y[i] != 0f).count();
        assertTrue(nonZero > y.length / 4, "a real output (after ReLU), not zeros: " + nonZero + " of " + y.length);
    }
}
