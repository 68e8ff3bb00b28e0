package dev.jresnet.testing;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The comparisons the GPU tests make, on values worked by hand. */
class TestNetsTest {

    @Test
    void worstChannelIsOneChannelsErrorOverTheRmsChannelNorm() {
        // [2, 4]: channel norms² 2, 8, 18, 32 (rms 15); channel 2 off by 3 and 4 in its two rows (norm 5)
        float[] want = {1, 2, 3, 4, 1, 2, 3, 4};
        float[] got = {1, 2, 6, 4, 1, 2, 7, 4};
        assertEquals(5 / Math.sqrt(15), TestNets.worstChannel(got, want, 4), 1e-12);
        got[5] = 2.5f; // a smaller error elsewhere does not count
        assertEquals(5 / Math.sqrt(15), TestNets.worstChannel(got, want, 4), 1e-12);
        assertEquals(0, TestNets.worstChannel(want, want, 4));
        // the whole tensor's relative L2 dilutes the same fault, here by about sqrt(4 channels)
        assertEquals(Math.sqrt(25.25 / 60), TestNets.relL2(got, want), 1e-7);
        assertThrows(IllegalArgumentException.class, () -> TestNets.worstChannel(got, want, 3));
        assertThrows(IllegalArgumentException.class, () -> TestNets.worstChannel(new float[4], want, 4));
    }

    @Test
    void topMarginIsFirstMinusSecondOfTheRow() {
        float[] v = {9, 1, 5, 3, -2, 7, 0, 6.5f};
        assertEquals(4, TestNets.topMargin(v, 0, 4)); // 9 - 5
        assertEquals(0.5, TestNets.topMargin(v, 4, 4), 1e-6); // 7 - 6.5
        assertEquals(5, TestNets.argmax(v, 4, 4) + 4);
        assertEquals(81 + 1 + 25 + 9 + 4 + 49 + 42.25, TestNets.sumOfSquares(v), 1e-9);
    }
}
