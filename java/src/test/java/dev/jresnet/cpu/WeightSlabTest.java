package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class WeightSlabTest {
    @Test
    void rangesStartOnLinesAndDoNotOverlap() {
        WeightSlab slab = WeightSlab.forFloats(7 + 16 + 33 + 1, 4);
        int a = slab.take(7), b = slab.take(16), c = slab.take(33), d = slab.take(1);
        assertEquals(WeightSlab.FIRST_ALIGNED, a);
        for (int start : new int[] {a, b, c, d}) {
            assertEquals(0, (start - a) % WeightSlab.LINE, "start " + start);
        }
        assertTrue(a + 7 <= b && b + 16 <= c && c + 33 <= d && d + 1 <= slab.array().length);
        IllegalStateException full = assertThrows(IllegalStateException.class, () -> slab.take(64));
        assertTrue(full.getMessage().startsWith("weight slab of " + slab.array().length + " floats has no room for 64"),
                full.getMessage());
        IllegalArgumentException huge = assertThrows(IllegalArgumentException.class,
                () -> WeightSlab.forFloats(1L << 31, 1));
        assertEquals("packed weights of 2147483648 floats do not fit one Java array", huge.getMessage());
    }

    /** Layers packed after another in one slab compute what they compute alone: each reads its own range. */
    @Test
    void layersInOneSlabComputeAsAlone() {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        int k = 64, c = 32, l = DirectConv.lanes();
        Tensor g = Naive.random(52, k), var = Tensor.zeros(k);
        java.util.Arrays.fill(var.data(), 1f);
        Tensor[] weights = {Naive.random(53, k, c, 1, 1), Naive.random(54, k, c, 3, 3), Naive.random(55, k, c, 3, 3),
                Naive.random(56, k, c, 3, 3)};
        int[] strides = {1, 1, 2, 1}, pads = {0, 1, 1, 1};
        boolean[] fast = {true, true, true, false};  // 1x1; Winograd; tap by tap; the reference order
        int blocks = DirectConv.defaultBlocks(), pixels = DirectConv.defaultPixels();
        long floats = 0;
        for (int i = 0; i < weights.length; i++) {
            floats += DirectConv.packedFloats(weights[i], strides[i], pads[i], blocks, pixels, fast[i]);
        }
        WeightSlab slab = WeightSlab.forFloats(floats, weights.length);
        Tensor in = DirectConvTest.blocked(Naive.random(57, 2, c, 8, 8), l);
        for (int i = 0; i < weights.length; i++) {
            int pad = pads[i], p = (8 + 2 * pad - weights[i].dim(2)) / strides[i] + 1;
            DirectConv shared = DirectConv.of(weights[i], strides[i], pad, g, g, g, var, 1e-5f, blocks, pixels,
                    fast[i], slab);
            DirectConv alone = DirectConv.of(weights[i], strides[i], pad, g, g, g, var, 1e-5f, blocks, pixels,
                    fast[i]);
            Tensor a = Tensor.zeros(Blocked.shape(2, k, p, p, l)), b = Tensor.zeros(a.shape());
            shared.forward(a, in, null, true);
            alone.forward(b, in, null, true);
            assertArrayEquals(b.data(), a.data(), "layer " + i);
        }
    }
}
