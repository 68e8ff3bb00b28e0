package dev.jresnet.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.jresnet.image.ImageDecodeException;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;

/**
 * {@link ImageDecoder#decode(byte[], String)} on any bytes (seeds: PNG, JPEG, CMYK JPEG, GIF, BMP and TIFF of each kind
 * it decodes, and JPEG-in-TIFF and WebP, which it refuses): an RGB image whose pixels fill width x height x 3, or an
 * ImageDecodeException.
 */
class ImageFuzzTest {
    @FuzzTest
    void decode(byte[] data) throws Exception {
        RgbImage img = Hostile.call(() -> ImageDecoder.decode(data, "input.img"), ImageDecodeException.class);
        if (img != null) {
            Hostile.check(img.width() > 0 && img.height() > 0
                    && img.pixels().length == 3L * img.width() * img.height(), img.width() + "x" + img.height()
                    + " with " + img.pixels().length + " bytes");
        }
    }
}
