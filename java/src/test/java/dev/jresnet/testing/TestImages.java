package dev.jresnet.testing;

import dev.jresnet.image.RgbImage;

/** Synthetic images for tests. */
public final class TestImages {
    private TestImages() {}

    /** Every pixel distinct along x and y (modulo 256), so a crop, flip or resize that moves pixels shows. */
    public static RgbImage gradient(int w, int h) {
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                px[i] = (byte) x;
                px[i + 1] = (byte) y;
                px[i + 2] = (byte) (x * 7 + y * 13);
            }
        }
        return new RgbImage(w, h, px);
    }
}
