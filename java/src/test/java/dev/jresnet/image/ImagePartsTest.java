package dev.jresnet.image;

import dev.jresnet.tensor.Tensor;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The small parts of the image package at their edges: every refused format's signature, the image extensions, an
 * RgbImage's size check, and a preset at another input size (a model fine-tuned at 384 keeps the 256/224 ratio).
 */
class ImagePartsTest {
    private static String refusal(byte[] bytes) {
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(bytes, "in.x"));
        assertTrue(e.getMessage().startsWith("in.x: "), e.getMessage());
        return e.reason();
    }

    private static byte[] bytes(int length, int... prefix) {
        byte[] b = new byte[length];
        for (int i = 0; i < prefix.length; i++) {
            b[i] = (byte) prefix[i];
        }
        return b;
    }

    private static byte[] ascii(String s, int length) {
        return Arrays.copyOf(s.getBytes(StandardCharsets.ISO_8859_1), length);
    }

    @Test
    void everyRefusedSignatureIsNamed() {
        assertTrue(refusal(ascii("\0\0\0\u0018ftyphevc", 32)).startsWith("HEIC/HEIF is not supported"));
        assertTrue(refusal(ascii("\0\0\0\u0018ftypmsf1", 32)).startsWith("HEIC/HEIF is not supported"));
        assertTrue(refusal(ascii("\0\0\0\u0018ftypheix", 32)).startsWith("HEIC/HEIF is not supported"));
        // an ftyp box of another brand (an MP4 video) is not an image at all
        assertTrue(refusal(ascii("\0\0\0\u0018ftypisom", 32)).startsWith("not an image"));
        assertTrue(refusal(bytes(32, 0xff, 0x4f, 0xff, 0x51)).startsWith("JPEG 2000 is not supported"));
        assertTrue(refusal(bytes(32, 0xff, 0x0a)).startsWith("JPEG XL is not supported"));
        assertTrue(refusal(ascii("\0\0\0\u000cJXL ", 32)).startsWith("JPEG XL is not supported"));
        assertTrue(refusal(ascii("MM\0+", 32)).startsWith("BigTIFF is not supported"));
        assertTrue(refusal(ascii("8BPS", 32)).startsWith("Photoshop PSD is not supported"));
        assertEquals("a safetensors file (weights?), not an image", refusal(bytes(9, 0x40, 0, 0, 0, 0, 0, 0, 0, '{')));
        assertTrue(refusal(bytes(9, 0x40, 0, 0, 0, 0, 0, 1, 0, '{')).startsWith("not an image"));
        assertTrue(refusal(bytes(9, 0x40, 0, 0, 0, 0, 0, 0, 1, '{')).startsWith("not an image"));
        assertTrue(refusal(bytes(8, 0x40, 0, 0, 0, 0, 0, 0, 0)).startsWith("not an image"));
        // exactly as long as a signature: recognised (a BMP needs its 18-byte header to be tried as one)
        assertTrue(refusal(ascii("8BPS", 4)).startsWith("Photoshop PSD is not supported"));
        assertTrue(refusal(ascii("\0\0\0\u0018ftypheic", 12)).startsWith("HEIC/HEIF is not supported"));
        assertTrue(refusal(ascii("BM", 18)).startsWith("corrupt or truncated BMP"));
        assertTrue(refusal(ascii("BM", 17)).startsWith("not an image"));
        // shorter than the signature it begins: not recognised, never an index error
        assertTrue(refusal(bytes(3, 0xff, 0x4f, 0xff)).startsWith("not an image"));
        assertTrue(refusal(ascii("\0\0\0\u0018ftyphei", 11)).startsWith("not an image"));
    }

    @Test
    void imageExtensionsInAnyCase() {
        for (String n : List.of("a.png", "b.JPG", "c.jpeg", "d.Gif", "e.bmp", "f.tif", "g.TIFF", "h.webp", "i.heic",
                "j.heif", "k.avif")) {
            assertTrue(ImageFiles.hasImageExtension(Path.of("dir", n)), n);
        }
        for (String n : List.of("a.npy", "png", "b.png.txt", "c.jpgx")) {
            assertFalse(ImageFiles.hasImageExtension(Path.of(n)), n);
        }
        assertFalse(ImageFiles.hasImageExtension(Path.of("/")), "a path without a file name");
        assertTrue(ImageFiles.hasExtension(Path.of("x.NPY"), List.of(".npy")));
        assertFalse(ImageFiles.hasExtension(Path.of("x.png"), List.of(".npy")));
    }

    @Test
    void rgbImageNeedsAPositiveSizeAndExactlyItsBytes() {
        assertEquals(200, new RgbImage(1, 1, new byte[] {0, 0, (byte) 200}).get(0, 0, 2));
        for (int[] wh : new int[][] {{0, 5}, {5, 0}, {-1, -3}}) {
            assertThrows(IllegalArgumentException.class, () -> new RgbImage(wh[0], wh[1], new byte[0]), Arrays.toString(wh));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new RgbImage(2, 3, new byte[17]));
        assertEquals("RGB image 2x3 needs 18 bytes, got 17", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new RgbImage(70000, 70000, new byte[3]));
        assertEquals("RGB image 70000x70000 needs 14700000000 bytes, got 3", e.getMessage());
    }

    @Test
    void presetAtAnotherInputSizeKeepsItsRatio() {
        assertEquals(256, Preset.TORCHVISION_V1.resizeFor(224));
        assertEquals(232, Preset.TORCHVISION_V2.resizeFor(224));
        assertEquals(439, Preset.TORCHVISION_V1.resizeFor(384)); // round(384 * 256 / 224 = 438.86)
        assertEquals(398, Preset.TORCHVISION_V2.resizeFor(384)); // round(384 * 232 / 224 = 397.71)
        assertEquals(128, Preset.TORCHVISION_V1.resizeFor(112));
        assertEquals(1, Preset.TORCHVISION_V1.resizeFor(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preset.TORCHVISION_V1.resizeFor(0));
        assertEquals("crop size must be >= 1, got 0", e.getMessage());

        Random rnd = new Random(15);
        byte[] px = new byte[150 * 100 * 3];
        rnd.nextBytes(px);
        RgbImage img = new RgbImage(150, 100, px);
        RgbImage at64 = Preset.TORCHVISION_V1.resizeAndCrop(img, 64);
        assertArrayEquals(Resize.resizeAndCenterCrop(img, 73, 64).pixels(), at64.pixels()); // round(64 * 256 / 224)
        assertArrayEquals(Preset.TORCHVISION_V1.resizeAndCrop(img).pixels(),
                Preset.TORCHVISION_V1.resizeAndCrop(img, 224).pixels());
        Tensor t = Preset.TORCHVISION_V1.preprocess(img, 64);
        assertArrayEquals(new int[] {3, 64, 64}, t.shape().dims());
        assertArrayEquals(Preset.TORCHVISION_V1.normalize(at64, 64).data(), t.data());
        assertArrayEquals(Preset.TORCHVISION_V1.preprocess(img).data(), Preset.TORCHVISION_V1.preprocess(img, 224).data());
    }
}
