package dev.jresnet.image;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Formats told apart by content: the ones decoded, the ones refused with the reason, and sizes checked first. */
class ImageFormatTest {
    private static String refusal(byte[] bytes) {
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(bytes, "in.x"));
        assertTrue(e.getMessage().startsWith("in.x: "), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        return e.reason();
    }

    private static byte[] ascii(String s, int length) {
        return Arrays.copyOf(s.getBytes(StandardCharsets.ISO_8859_1), length);
    }

    @Test
    void formatsWithoutAJdkReaderAreRefusedWithTheFix() {
        byte[] webp = ascii("RIFF\0\0\0\0WEBPVP8 ", 64);
        assertTrue(refusal(webp).startsWith("WebP is not supported (the JDK has no WebP reader): convert it to PNG"),
                refusal(webp));
        assertTrue(refusal(ascii("\0\0\0\u0018ftypheic", 64)).startsWith("HEIC/HEIF is not supported"));
        assertTrue(refusal(ascii("\0\0\0\u0018ftypmif1", 64)).startsWith("HEIC/HEIF is not supported"));
        assertTrue(refusal(ascii("\0\0\0\u001cftypavif", 64)).startsWith("AVIF is not supported"));
        assertTrue(refusal(ascii("\0\0\0\u000cjP  ", 64)).startsWith("JPEG 2000 is not supported"));
        assertTrue(refusal(ascii("II+\0", 64)).startsWith("BigTIFF is not supported"));
        assertTrue(refusal(ascii("PK\u0003\u0004", 64)).contains("(PyTorch .pth weights?), not an image"));
        assertTrue(refusal(ascii("\u0093NUMPY\u0001\0", 64)).contains(".npy array, not an image"));
        assertEquals("not an image (PNG, JPEG, GIF, BMP or TIFF); starts with 68 65 6c 6c 6f",
                refusal("hello".getBytes(StandardCharsets.US_ASCII)));
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), format);
        return out.toByteArray();
    }

    private static BufferedImage pattern() {
        BufferedImage img = new BufferedImage(7, 5, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 7; x++) {
                img.setRGB(x, y, (x * 37) << 16 | (y * 51) << 8 | (x * y * 9));
            }
        }
        return img;
    }

    @Test
    void bmpAndTiffKeepEveryPixel() throws IOException {
        BufferedImage img = pattern();
        byte[] expected = new byte[7 * 5 * 3];
        for (int i = 0; i < 35; i++) {
            int rgb = img.getRGB(i % 7, i / 7);
            expected[3 * i] = (byte) (rgb >> 16);
            expected[3 * i + 1] = (byte) (rgb >> 8);
            expected[3 * i + 2] = (byte) rgb;
        }
        for (String f : new String[] {"bmp", "tiff"}) {
            RgbImage d = ImageDecoder.decode(encode(img, f), "x." + f);
            assertEquals(7, d.width(), f);
            assertArrayEquals(expected, d.pixels(), f);
        }
    }

    /**
     * A GIF's logical screen is what PIL allocates, not the frame ImageIO decodes: the bound applies to the screen,
     * before any pixel is decoded.
     */
    @Test
    void hugeGifScreenIsRefusedBeforeDecoding() throws IOException {
        byte[] gif = encode(pattern(), "gif");
        gif[6] = (byte) 0xff; // logical screen 65535 x 65535: PIL would allocate it whole
        gif[7] = (byte) 0xff;
        gif[8] = (byte) 0xff;
        gif[9] = (byte) 0xff;
        String r = refusal(gif);
        assertTrue(r.startsWith("GIF image 65535x65535 pixels"), r);
    }

    @Test
    void jpegCompressedTiffIsRefusedInOneLine() throws IOException {
        var writer = ImageIO.getImageWritersByFormatName("tiff").next();
        var param = writer.getDefaultWriteParam();
        param.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionType("JPEG");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (var ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new javax.imageio.IIOImage(pattern(), null, null), param);
        }
        String r = refusal(out.toByteArray());
        assertTrue(r.startsWith("JPEG-compressed TIFF is not supported"), r);
    }
}
