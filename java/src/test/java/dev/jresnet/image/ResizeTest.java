package dev.jresnet.image;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static dev.jresnet.testing.TestImages.gradient;

class ResizeTest {
    @Test
    void outputSizeFollowsTorchvision() {
        // int(size * long / short), the shorter side exactly size; a square counts its width as the shorter side.
        assertArrayEquals(new int[] {384, 256}, Resize.resizedSize(451, 300, 256)); // 384.85 truncated
        assertArrayEquals(new int[] {379, 256}, Resize.resizedSize(741, 500, 256)); // 379.39
        assertArrayEquals(new int[] {256, 397}, Resize.resizedSize(333, 517, 256)); // 397.45
        assertArrayEquals(new int[] {256, 256}, Resize.resizedSize(512, 512, 256));
        assertArrayEquals(new int[] {13837, 256}, Resize.resizedSize(2000, 37, 256));
        assertArrayEquals(new int[] {358, 256}, Resize.resizedSize(7, 5, 256)); // upscaling
        assertArrayEquals(new int[] {256, 341}, Resize.resizedSize(3, 4, 256)); // 341.33
        assertArrayEquals(new int[] {232, 300}, Resize.resizedSize(232, 300, 232)); // unchanged
        // 3 * 256 / 3 is exactly 256 in floating point; truncation must not turn it into 255.
        assertArrayEquals(new int[] {256, 256}, Resize.resizedSize(3, 3, 256));
        assertArrayEquals(new int[] {1, 2}, Resize.resizedSize(5, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> Resize.resizedSize(1, 10, Integer.MAX_VALUE / 2));
        assertThrows(IllegalArgumentException.class, () -> Resize.resizedSize(1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Resize.resizedSize(0, 5, 256));
    }

    @Test
    void centerCropRoundsHalfToEven() {
        // int(round((d - size) / 2.0)): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4
        assertEquals(0, Resize.cropOffset(225, 224));
        assertEquals(2, Resize.cropOffset(227, 224));
        assertEquals(2, Resize.cropOffset(229, 224));
        assertEquals(4, Resize.cropOffset(231, 224));
        assertEquals(16, Resize.cropOffset(256, 224));
        assertEquals(80, Resize.cropOffset(384, 224));
        assertEquals(78, Resize.cropOffset(379, 224)); // 77.5 -> 78
        assertEquals(0, Resize.cropOffset(224, 224));
        // Smaller than the crop: torchvision pads (crop - d) // 2 before.
        assertEquals(-1, Resize.cropOffset(221, 224));
        assertEquals(-2, Resize.cropOffset(220, 224));
    }

    @Test
    void centerCropTakesTheRoundedWindow() {
        RgbImage img = gradient(231, 227);
        RgbImage c = Resize.centerCrop(img, 224);
        assertEquals(224, c.width());
        assertEquals(224, c.height());
        for (int ch = 0; ch < 3; ch++) {
            assertEquals(img.get(4, 2, ch), c.get(0, 0, ch));
            assertEquals(img.get(4 + 223, 2 + 223, ch), c.get(223, 223, ch));
        }
    }

    @Test
    void centerCropPadsSmallImagesWithBlack() {
        RgbImage img = gradient(3, 5);
        RgbImage c = Resize.centerCrop(img, 6);
        // width 3 -> pad 1 left, 2 right; height 5 -> pad 0 top, 1 bottom
        assertEquals(0, c.get(0, 0, 0));
        assertEquals(img.get(0, 0, 2), c.get(1, 0, 2));
        assertEquals(img.get(2, 4, 2), c.get(3, 4, 2));
        assertEquals(0, c.get(4, 0, 2));
        assertEquals(0, c.get(1, 5, 2));
    }

    @Test
    void unchangedSizeIsTheSameImage() {
        RgbImage img = gradient(232, 300);
        assertSame(img, Resize.resizeShorterSide(img, 232));
        RgbImage copy = Resize.resize(img, 232, 300);
        assertArrayEquals(img.pixels(), copy.pixels());
    }

    @Test
    void constantImagesStayConstant() {
        byte[] px = new byte[37 * 23 * 3];
        java.util.Arrays.fill(px, (byte) 200);
        RgbImage img = new RgbImage(37, 23, px);
        for (int[] wh : new int[][] {{256, 159}, {5, 3}, {1, 1}, {37, 400}, {1000, 23}}) {
            RgbImage r = Resize.resize(img, wh[0], wh[1]);
            for (byte b : r.pixels()) {
                assertEquals(200, b & 0xff, "resize to " + wh[0] + "x" + wh[1]);
            }
        }
    }

    @Test
    void halvingAveragesPairsWithPillowRounding() {
        // Downscaling by exactly 2 with the bilinear filter: support 2, weights 1/4, 3/4, 3/4, 1/4 around each
        // output pixel centre (edges renormalised); a one-row image isolates the horizontal pass.
        byte[] px = new byte[4 * 3];
        int[] vals = {0, 100, 200, 255};
        for (int i = 0; i < 4; i++) {
            px[i * 3] = (byte) vals[i];
        }
        RgbImage r = Resize.resize(new RgbImage(4, 1, px), 2, 1);
        // x=0: weights for 0,1,2 = 3/4,3/4,1/4 over 7/4 -> (0*3 + 100*3 + 200) / 7 = 71.43 -> 71
        assertEquals(71, r.get(0, 0, 0));
        // x=1: weights for 1,2,3 = 1/4,3/4,3/4 -> (100 + 600 + 765) / 7 = 209.29 -> 209
        assertEquals(209, r.get(1, 0, 0));
    }

    @Test
    void rejectsBadArguments() {
        RgbImage img = gradient(4, 4);
        assertThrows(IllegalArgumentException.class, () -> Resize.resize(img, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> Resize.centerCrop(img, 0));
        assertThrows(IllegalArgumentException.class, () -> Resize.resizeShorterSide(img, -1));
    }
}
