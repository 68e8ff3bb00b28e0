package dev.jresnet.image;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** {@link Resize#resizeAndCenterCrop}: the bytes of resize-then-crop, bounded for any aspect ratio. */
class ResizeAndCropTest {
    private static RgbImage random(int w, int h, long seed) {
        byte[] px = new byte[w * h * 3];
        new SplittableRandom(seed).nextBytes(px);
        return new RgbImage(w, h, px);
    }

    @Test
    void equalsResizeThenCropByteForByte() {
        int[][] cases = {
                {451, 300, 256, 224}, {300, 451, 256, 224}, {640, 480, 232, 224}, {224, 224, 256, 224},
                {256, 300, 256, 224}, {300, 256, 256, 224}, {7, 5, 256, 224}, {3, 4, 256, 224}, {2000, 37, 256, 224},
                {37, 2000, 256, 224}, {500, 400, 100, 224}, {400, 500, 100, 224}, {1, 1, 256, 224},
                {999, 1, 256, 224}, {1, 999, 256, 224}, {333, 517, 73, 64}, {225, 1000, 225, 224},
        };
        for (int[] c : cases) {
            RgbImage img = random(c[0], c[1], c[0] * 31L + c[1]);
            RgbImage expected = Resize.centerCrop(Resize.resizeShorterSide(img, c[2]), c[3]);
            RgbImage actual = Resize.resizeAndCenterCrop(img, c[2], c[3]);
            String what = c[0] + "x" + c[1] + " resize " + c[2] + " crop " + c[3];
            assertEquals(c[3], actual.width(), what);
            assertArrayEquals(expected.pixels(), actual.pixels(), what);
        }
    }

    @Test
    void extremeAspectRatiosAreCroppedWithinBoundedMemory() {
        // Resize alone would make 5,120,000x256 (3.9 GB): "target size 5120000x256 is too large".
        for (int[] wh : new int[][] {{20000, 1}, {1, 20000}, {1_000_000, 1}}) {
            byte[] px = new byte[wh[0] * wh[1] * 3];
            java.util.Arrays.fill(px, (byte) 77);
            RgbImage img = new RgbImage(wh[0], wh[1], px);
            RgbImage crop = assertTimeoutPreemptively(java.time.Duration.ofSeconds(5),
                    () -> Preset.TORCHVISION_V1.resizeAndCrop(img));
            assertEquals(224, crop.width());
            assertEquals(224, crop.height());
            for (byte b : crop.pixels()) {
                assertEquals(77, b & 0xff, "a uniform image stays uniform");
            }
        }
    }
}
