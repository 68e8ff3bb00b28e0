package dev.jresnet.cpu;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The direct convolution on blocked activations against the unfused reference ops (conv2d, batchNorm, add, ReLU):
 * bit for bit, on every ResNet-50 layer kind and on widths that take the narrow tiles.
 */
class DirectConvTest {
    @ParameterizedTest(name = "in [{0},{1},{2},{3}] weight [{4},{1},{5},{5}] stride {6} pad {7} residual {8} relu {9}")
    @CsvSource({
            "1, 256, 14, 14, 256, 3, 1, 1, false, true",   // layer3 3x3
            "2, 64, 56, 56, 64, 3, 1, 1, false, true",     // layer1 3x3, batch 2
            "1, 512, 7, 7, 512, 3, 1, 1, false, true",     // layer4 3x3: K·R·S = 4608 terms
            "1, 128, 28, 28, 128, 3, 2, 1, false, true",   // 3x3 stride 2 (layer3's first block)
            "2, 256, 14, 14, 1024, 1, 1, 0, true, true",   // 1x1 expand + residual
            "1, 1024, 14, 14, 256, 1, 1, 0, false, true",  // 1x1 reduce (14 = 5 + 5 + 4: see stripWidth)
            "2, 512, 28, 28, 1024, 1, 2, 0, false, false", // downsample 1x1 stride 2
            "3, 64, 9, 5, 128, 3, 1, 1, true, false",      // narrow: 5 columns, not square, batch 3
            "1, 32, 11, 13, 64, 3, 1, 1, false, true",     // 13 = 7 + 6 (a full tile, then a narrow one)
            "1, 16, 3, 3, 64, 3, 2, 1, false, true",       // a 2x2 output from a 3x3 stride 2
            "2, 48, 17, 17, 64, 1, 1, 0, true, true",      // 17 = 6 + 6 + 5 (a wide row: see stripWidth)
    })
    void bitwiseTheReference(int n, int c, int h, int w, int k, int r, int stride, int pad,
                                   boolean withResidual, boolean relu) {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM (--add-modules jdk.incubator.vector)");
        Tensor in = Naive.random(31, n, c, h, w);
        Tensor weight = Naive.random(32, k, c, r, r);
        Tensor gamma = Naive.random(33, k), beta = Naive.random(34, k), mean = Naive.random(35, k);
        Tensor var = Naive.random(36, k);
        for (int i = 0; i < k; i++) {
            var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        }
        FusedConv ref = FusedConv.reference(weight, stride, pad, 1, gamma, beta, mean, var, 1e-5f);
        int p = ref.outSize(h), q = (w + 2 * pad - r) / stride + 1;
        Tensor residual = withResidual ? Naive.random(37, n, k, p, q) : null;
        Tensor want = ref.forward(in, residual, relu);
        assertTrue(Naive.hasNonZero(want.data()));

        assertTrue(DirectConv.supports(weight, stride, pad, 1));
        DirectConv direct = DirectConv.of(weight, stride, pad, gamma, beta, mean, var, 1e-5f);
        int l = DirectConv.lanes();
        Tensor bin = blocked(in, l), bres = residual == null ? null : blocked(residual, l);
        Tensor bout = Tensor.zeros(Blocked.shape(n, k, p, q, l));
        direct.forward(bout, bin, bres, relu);
        direct.forward(bout, bin, bres, relu);  // again into the same array: every interior value overwritten
        Tensor got = Tensor.zeros(n, k, p, q);
        Blocked.toNchw(got, bout);
        assertArrayEquals(want.data(), got.data(), "direct vs reference ops, max |direct - reference| / max |ref| = "
                + maxRelErr(got.data(), want.data()));
        assertTrue(borderIsZero(bout), "the output's border must stay zero");
    }

    @ParameterizedTest(name = "planar in [{0},{1},{2},{3}] weight [64,{1},{4},{4}] stride {5} pad {6}")
    @CsvSource({
            "1, 3, 32, 32, 7, 2, 3",   // the stem
            "2, 3, 23, 19, 7, 2, 3",   // odd sizes, batch 2
            "1, 5, 9, 9, 3, 1, 2",     // padding 2, 5 channels
    })
    void planarInputIsBitwiseTheReference(int n, int c, int h, int w, int r, int stride, int pad) {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        int k = 4 * DirectConv.lanes();
        Tensor in = Naive.random(51, n, c, h, w), weight = Naive.random(52, k, c, r, r);
        Tensor gamma = Naive.random(53, k), beta = Naive.random(54, k), mean = Naive.random(55, k);
        Tensor var = Naive.random(56, k);
        for (int i = 0; i < k; i++) {
            var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        }
        Tensor want = FusedConv.reference(weight, stride, pad, 1, gamma, beta, mean, var, 1e-5f).forward(in, null, true);
        DirectConv d = DirectConv.of(weight, stride, pad, gamma, beta, mean, var, 1e-5f);
        assertTrue(d.planar());
        Tensor padded = Naive.random(57, d.paddedShape(in.shape()).dims());  // garbage: every value is rewritten
        Tensor out = Tensor.zeros(Blocked.shape(n, k, want.dim(2), want.dim(3), DirectConv.lanes()));
        d.forwardPlanar(out, in, padded, true);
        Tensor got = Tensor.zeros(want.shape());
        Blocked.toNchw(got, out);
        assertArrayEquals(want.data(), got.data());
        assertTrue(borderIsZero(out));
    }

    @ParameterizedTest(name = "max pool {1}x{1} stride {2} pad {3} on [2,32,{0},{0}]")
    @CsvSource({"112, 3, 2, 1", "9, 3, 2, 1", "8, 2, 2, 0", "7, 3, 1, 1"})
    void blockedMaxPoolIsBitwiseTheReference(int size, int kernel, int stride, int pad) {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        int l = DirectConv.lanes();
        Tensor mixed = NaiveMaxPool.input(61, 2, 32, size, size);  // mixed signs, NaNs: every kind of window
        mixed.data()[size + 7] = -0.0f;  // -0.0 before 0.0 stays -0.0, as the reference scans
        mixed.data()[size + 8] = 0.0f;
        NaiveMaxPool.requireEveryKindOfWindow(mixed, kernel, stride, pad);
        // many ties of signed zeros: a window's scan order decides them
        for (Tensor x : List.of(mixed, MaxPool2dTest.input(2, 32, size, size, 67))) {
            int p = (size + 2 * pad - kernel) / stride + 1;
            Tensor want = Tensor.zeros(2, 32, p, p);
            CpuOps.maxPool(want, x, kernel, stride, pad);
            Tensor out = Tensor.zeros(Blocked.shape(2, 32, p, p, l)), got = Tensor.zeros(want.shape());
            MaxPool2d.forwardBlocked(out, blocked(x, l), kernel, stride, pad);
            Blocked.toNchw(got, out);
            if (x == mixed) {  // against PyTorch's definition too: a rule shared with the reference passes below
                NaiveMaxPool.assertSame(NaiveMaxPool.forward(x, kernel, stride, pad), got, "blocked max pool");
            }
            for (int i = 0; i < want.size(); i++) {  // bit for bit (-0.0 is not 0.0), a NaN's payload aside
                float a = want.data()[i], b = got.data()[i];
                assertTrue(Float.isNaN(a) ? Float.isNaN(b) : Float.floatToRawIntBits(a) == Float.floatToRawIntBits(b),
                        "element " + i + ": " + a + " vs " + b);
            }
            assertTrue(borderIsZero(out));
        }
    }

    @Test
    void rowsPerTaskTakeFourStripsOrAWholeMapOfOneStripARow() {
        assertEquals(7, DirectConv.rowsPerTask(7, 1));    // layer4 at 224 px: its weights streamed once a task
        assertEquals(5, DirectConv.rowsPerTask(5, 1));
        assertEquals(2, DirectConv.rowsPerTask(14, 2));   // layer3: 4 strips
        assertEquals(1, DirectConv.rowsPerTask(56, 8));   // layer1: a row of 8 strips
        assertEquals(2, DirectConv.rowsPerTask(2, 2));    // never more rows than the map has
    }

    @Test
    void layersOnWholeChannelBlocksTakeBandsOfEightRowsWhereTasksStayPlenty() {
        assertEquals(8, DirectConv.rowsPerTask(56, 10, 8, 2));   // layer1's reduce at batch 8: 56 tasks
        assertEquals(8, DirectConv.rowsPerTask(28, 5, 16, 2));   // layer2's reduce at batch 8 (2 groups)
        assertEquals(1, DirectConv.rowsPerTask(56, 10, 1, 2));   // batch 1: 7 tasks for 2 threads would idle one
        assertEquals(8, DirectConv.rowsPerTask(56, 10, 4, 2));   // batch 1, layer1's expand: 4 groups x 7 bands
        assertEquals(7, DirectConv.rowsPerTask(7, 1, 64, 2));    // never more rows than the map has
        assertEquals(2, DirectConv.rowsPerTask(14, 2, 1, 16));   // many threads: the narrow bands
    }

    @Test
    void wideRowsRunInNarrowerStripsOnTheSpillingTile() {
        assertEquals(6, DirectConv.stripWidth(4, 7, 56));  // layer1: 9 x 6 + 2
        assertEquals(6, DirectConv.stripWidth(4, 7, 15));
        assertEquals(5, DirectConv.stripWidth(4, 7, 14));  // layer3: 5 + 5 + 4, not 7 + 7 (spills) or 6 + 6 + 2
        assertEquals(7, DirectConv.stripWidth(4, 7, 7));   // layer4
        assertEquals(5, DirectConv.stripWidth(4, 5, 56));  // another tile (the lab's) as asked
        assertEquals(6, DirectConv.stripWidth(2, 6, 56));  // 256-bit vectors' default: no spill
        assertEquals(7, DirectConv.stripWidth(4, 7, 13));
        assertEquals("4x7 (4x6 on rows wider than 14, 4x5 on 14)", DirectConv.describeTile(4, 7));
        assertEquals("2x6", DirectConv.describeTile(2, 6));
    }

    @Test
    void refusesWhatItCannotRun() {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        int tile = 4 * DirectConv.lanes();
        assertTrue(DirectConv.supports(Tensor.zeros(64, 3, 7, 7), 2, 3, 1), "the stem, on its planar input");
        assertFalse(DirectConv.supports(Tensor.zeros(64, 8, 3, 3), 1, 1, 8), "grouped");
        assertFalse(DirectConv.supports(Tensor.zeros(tile / 2 * 3, 64, 1, 1), 1, 0, 1), "K not a multiple");
        Tensor w = Naive.random(1, tile, 16, 3, 3), g = Naive.random(2, tile);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DirectConv.of(w, 1, 1, g, g, g, g, 1e-5f, 3, 7));
        assertTrue(e.getMessage().contains("no tile of 3 blocks x 7 pixels"), e.getMessage());
        DirectConv d = DirectConv.of(w, 1, 1, g, g, g, g, 1e-5f);
        Tensor x = Tensor.zeros(1, 16, 8, 8);
        e = assertThrows(IllegalArgumentException.class, () -> d.forward(Tensor.zeros(1, tile, 8, 8), x, null, true));
        assertTrue(e.getMessage().contains("expected blocked") && e.getMessage().contains("[1, 16, 8, 8]"),
                e.getMessage());
        Tensor bx = Tensor.zeros(Blocked.shape(1, 16, 8, 8, DirectConv.lanes()));
        e = assertThrows(IllegalArgumentException.class,
                () -> d.forward(Tensor.zeros(Blocked.shape(1, tile, 7, 7, DirectConv.lanes())), bx, null, true));
        assertTrue(e.getMessage().startsWith("direct conv output"), e.getMessage());
        DirectConv padded2 = DirectConv.of(w, 1, 2, g, g, g, g, 1e-5f);
        e = assertThrows(IllegalArgumentException.class,
                () -> padded2.forward(Tensor.zeros(Blocked.shape(1, tile, 10, 10, DirectConv.lanes())), bx, null, true));
        assertTrue(e.getMessage().contains("padding 2 needs the planar input"), e.getMessage());
    }

    @Test
    void blockedCopiesRoundTripAndPoolAsTheReference() {
        for (int lanes : new int[] {2, 8, 16}) {
            Tensor x = Naive.random(41, 2, 32, 5, 7);
            Tensor b = Tensor.zeros(Blocked.shape(2, 32, 5, 7, lanes));
            Blocked.fromNchw(b, x);
            assertEquals(Shape.of(2, 32, 5, 7), Blocked.logical(b));
            assertTrue(borderIsZero(b));
            Tensor back = Tensor.zeros(2, 32, 5, 7);
            Blocked.toNchw(back, b);
            assertArrayEquals(x.data(), back.data());
            Tensor want = Tensor.zeros(2, 32), got = Tensor.zeros(2, 32);
            CpuOps.globalAvgPool(want, x);
            Blocked.globalAvgPool(got, b);
            assertArrayEquals(want.data(), got.data(), "the pooled features, bit for bit");
        }
        assertThrows(IllegalArgumentException.class, () -> Blocked.shape(1, 24, 4, 4, 16));
        Tensor reused = Naive.random(42, Blocked.shape(2, 32, 5, 7, 8).dims());  // an array that held other values
        Tensor interior = Tensor.zeros(2, 32, 5, 7);
        Blocked.toNchw(interior, reused);
        Blocked.zeroBorder(reused);
        assertTrue(borderIsZero(reused));
        Tensor after = Tensor.zeros(2, 32, 5, 7);
        Blocked.toNchw(after, reused);
        assertArrayEquals(interior.data(), after.data(), "zeroBorder leaves the interior");
    }

    static Tensor blocked(Tensor t, int lanes) {
        Tensor b = Tensor.zeros(Blocked.shape(t.dim(0), t.dim(1), t.dim(2), t.dim(3), lanes));
        Blocked.fromNchw(b, t);
        return b;
    }

    static boolean borderIsZero(Tensor b) {
        int planes = b.dim(0) * b.dim(1), hp = b.dim(2), wp = b.dim(3), l = b.dim(4);
        for (int pl = 0; pl < planes; pl++) {
            for (int y = 0; y < hp; y++) {
                for (int x = 0; x < wp; x++) {
                    if (y == 0 || x == 0 || y == hp - 1 || x == wp - 1) {
                        for (int i = 0; i < l; i++) {
                            if (b.data()[((pl * hp + y) * wp + x) * l + i] != 0f) {
                                return false;
                            }
                        }
                    }
                }
            }
        }
        return true;
    }

    static double maxRelErr(float[] got, float[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            num = Math.max(num, Math.abs(got[i] - want[i]));
            den = Math.max(den, Math.abs(want[i]));
        }
        return num / den;
    }
}
