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
 * The direct convolution summed tap by tap (the default's order for the 3x3 layers that Winograd does not run:
 * stride 2, and over 256 channels) against the reference ops and against float64: within 1e-6 relative L2 per layer;
 * and the bit-for-bit order where Winograd is not asked for.
 */
class TapOrderTest {
    /**
     * 1e-6, as Winograd's, where the reference ops themselves are that close to float64; at C·9 = 4608 terms (layer4)
     * they are not (1.05e-6 here): then no other order can be within 1e-6 of them, and the bound is being as close to
     * float64 as they are (x 1.25), and within two of their roundings (x 2) of them.
     */
    private static final double BOUND = 1e-6;

    @ParameterizedTest(name = "in [{0},{1},{2},{3}] out channels {4} stride {5} residual {6} relu {7}")
    @CsvSource({
            "1, 512, 7, 7, 64, 1, false, true",      // layer4's 3x3: 4 chunks of channels per tap
            "1, 128, 14, 14, 64, 2, false, true",    // layer2.0's stride 2
            "2, 32, 9, 7, 64, 2, true, false",       // odd sizes, stride 2, residual, no ReLU
            "1, 272, 5, 6, 64, 1, true, true",       // over 256 channels (so not Winograd), a partial chunk
    })
    void withinTheBoundOfTheReference(int n, int c, int h, int w, int k, int stride, boolean withResidual,
                                      boolean relu) {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM (--add-modules jdk.incubator.vector)");
        Tensor in = Naive.random(31, n, c, h, w), weight = Naive.random(32, k, c, 3, 3);
        Tensor gamma = Naive.random(33, k), beta = Naive.random(34, k), mean = Naive.random(35, k);
        Tensor var = Naive.random(36, k);
        for (int i = 0; i < k; i++) {
            var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        }
        int p = (h + 2 - 3) / stride + 1, q = (w + 2 - 3) / stride + 1;
        Tensor residual = withResidual ? Naive.random(37, n, k, p, q) : null;
        Tensor want = FusedConv.reference(weight, stride, 1, 1, gamma, beta, mean, var, 1e-5f)
                .forward(in, residual, relu);
        Tensor exact = Naive.convBn3x3Float64(in, weight, stride, gamma, beta, mean, var, residual, relu);

        DirectConv d = DirectConv.of(weight, stride, 1, gamma, beta, mean, var, 1e-5f, DirectConv.defaultBlocks(),
                DirectConv.defaultPixels(), true);
        assertTrue(d.byTaps() && !d.winograd(), "tap by tap, not Winograd");
        int l = DirectConv.lanes();
        Tensor bin = DirectConvTest.blocked(in, l), bres = residual == null ? null : DirectConvTest.blocked(residual, l);
        Tensor out = Naive.random(39, Blocked.shape(n, k, p, q, l).dims());
        Blocked.zeroBorder(out);
        d.forward(out, bin, bres, relu);
        Tensor got = Tensor.zeros(want.shape());
        Blocked.toNchw(got, out);

        Naive.Error vsRef = Naive.error(got.data(), want.data());
        Naive.Error vs64 = Naive.error(got.data(), exact.data()), ref64 = Naive.error(want.data(), exact.data());
        String report = "taps vs reference ops: " + vsRef + "; vs float64: " + vs64 + "; reference vs float64: "
                + ref64;
        System.out.println("[" + n + "," + c + "," + h + "," + w + "] -> " + k + " stride " + stride + ": " + report);
        assertTrue(vsRef.relL2() <= Math.max(BOUND, 2 * ref64.relL2()), report);
        assertTrue(vs64.relL2() <= Math.max(BOUND, 1.25 * ref64.relL2()), report);
        assertTrue(vsRef.relL2() > 0, "not bit for bit the reference: a test of the tap order");
        assertTrue(DirectConvTest.borderIsZero(out), "the output's border must stay zero");
    }

    /** Its weights are packed tap by tap for blocked inputs: a planar one is refused, not misread. */
    @Test
    void refusesAPlanarInput() {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        int k = Stride2.K, c = Stride2.C;
        DirectConv d = Stride2.random(45).direct(true);
        assertTrue(d.byTaps() && !d.planar());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.forwardPlanar(
                Tensor.zeros(Blocked.shape(1, k, 4, 4, DirectConv.lanes())), Tensor.zeros(1, c, 8, 8),
                Tensor.zeros(1, c, 10, 10), true));
        assertEquals("direct conv: this layer runs tap by tap on blocked inputs (forward), not on planar ones",
                e.getMessage());
    }

    @Test
    void aOneByOneLayerOnBlocksOfChannelsRefusesAPlanarInput() {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        int l = DirectConv.lanes(), k = 4 * l, c = 2 * l;
        Tensor w = Tensor.zeros(k, c, 1, 1), ones = Tensor.zeros(k), zeros = Tensor.zeros(k);
        java.util.Arrays.fill(w.data(), 0.5f);
        java.util.Arrays.fill(ones.data(), 1f);
        DirectConv d = DirectConv.of(w, 1, 0, ones, zeros, zeros, ones, 1e-5f);
        assertFalse(d.planar());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.forwardPlanar(
                Tensor.zeros(Blocked.shape(1, k, 4, 4, l)), Tensor.zeros(1, c, 4, 4), Tensor.zeros(1, c, 4, 4), true));
        assertEquals("direct conv: this layer runs on whole blocks of channels on blocked inputs (forward), not on"
                + " planar ones", e.getMessage());
    }

    @Test
    void bitForBitWithoutWinograd() {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        int k = Stride2.K, c = Stride2.C;
        Stride2 layer = Stride2.random(41);
        Tensor g = layer.g(), var = layer.var();
        DirectConv d = layer.direct(false);
        assertFalse(d.byTaps(), "the reference's (c, r, s) order");
        Tensor in = Naive.random(43, 1, c, 9, 9);
        Tensor want = FusedConv.reference(layer.weight(), 2, 1, 1, g, g, g, var, 1e-5f).forward(in, null, true);
        Tensor out = Tensor.zeros(Blocked.shape(1, k, 5, 5, DirectConv.lanes())), got = Tensor.zeros(want.shape());
        d.forward(out, DirectConvTest.blocked(in, DirectConv.lanes()), null, true);
        Blocked.toNchw(got, out);
        assertArrayEquals(want.data(), got.data());
        Tensor w1 = Naive.random(44, k, c, 1, 1);
        assertFalse(DirectConv.of(w1, 1, 0, g, g, g, var, 1e-5f, DirectConv.defaultBlocks(),
                DirectConv.defaultPixels(), true).byTaps(), "one tap: already whole blocks of channels");
    }

    /** A 3x3 stride-2 layer of C → K channels; batch norm's gamma, beta and mean all {@code g}, its variance 1. */
    private record Stride2(Tensor weight, Tensor g, Tensor var) {
        static final int K = 64, C = 32;

        /** The weight from {@code seed}, g from {@code seed + 1}. */
        static Stride2 random(long seed) {
            Tensor var = Tensor.zeros(K);
            java.util.Arrays.fill(var.data(), 1f);
            return new Stride2(Naive.random(seed, K, C, 3, 3), Naive.random(seed + 1, K), var);
        }

        /** On the default tile, tap by tap with {@code winograd} (the default's mode), else in the reference's order. */
        DirectConv direct(boolean winograd) {
            return DirectConv.of(weight, 2, 1, g, g, g, var, 1e-5f, DirectConv.defaultBlocks(),
                    DirectConv.defaultPixels(), winograd);
        }
    }
}
