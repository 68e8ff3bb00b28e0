package dev.jresnet.image;

import dev.jresnet.testing.PyTorchReference;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ImageDecoder} on in-memory images of the sample layouts a file can give (8 and 16 bits, grey with and without
 * alpha, palettes with stray indices, packed 5-6-5 through getRGB), on streams, and on a JPEG with an embedded ICC
 * profile, which must give the same bytes as without it (PIL never colour-manages).
 */
class DecoderSamplesTest {
    private static final Random RND = new Random(15);

    private static BufferedImage component(ColorSpace cs, boolean alpha, int dataType, int w, int h) {
        ComponentColorModel cm = new ComponentColorModel(cs, alpha, false,
                alpha ? Transparency.TRANSLUCENT : Transparency.OPAQUE, dataType);
        return new BufferedImage(cm, cm.createCompatibleWritableRaster(w, h), false, null);
    }

    @Test
    void sixteenBitGreyIsClippedButWithAlphaOrInColourKeepsTheHighByte() {
        BufferedImage grey = new BufferedImage(4, 1, BufferedImage.TYPE_USHORT_GRAY);
        grey.getRaster().setPixels(0, 0, 4, 1, new int[] {7, 255, 256, 65535});
        assertArrayEquals(new byte[] {7, 7, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1}, ImageDecoder.decode(grey).pixels());

        BufferedImage greyAlpha = component(ColorSpace.getInstance(ColorSpace.CS_GRAY), true, DataBuffer.TYPE_USHORT, 3, 1);
        greyAlpha.getRaster().setPixels(0, 0, 3, 1, new int[] {255, 9, 256, 9, 0xabcd, 9});
        assertArrayEquals(new byte[] {0, 0, 0, 1, 1, 1, (byte) 0xab, (byte) 0xab, (byte) 0xab},
                ImageDecoder.decode(greyAlpha).pixels());

        BufferedImage rgb = component(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, DataBuffer.TYPE_USHORT, 2, 1);
        rgb.getRaster().setPixels(0, 0, 2, 1, new int[] {0x1234, 0x00ff, 0xff00, 255, 256, 65535});
        assertArrayEquals(new byte[] {0x12, 0, (byte) 0xff, 0, 1, (byte) 0xff}, ImageDecoder.decode(rgb).pixels());
    }

    @Test
    void strayPaletteIndicesAreGreyAsInPil() {  // PIL's palette is a grey ramp under the file's entries
        byte[] r = {10, (byte) 250};
        byte[] g = {20, (byte) 240};
        byte[] b = {30, (byte) 230};
        IndexColorModel icm = new IndexColorModel(8, 2, r, g, b);
        BufferedImage p = new BufferedImage(icm, icm.createCompatibleWritableRaster(4, 1), false, null);
        p.getRaster().setPixels(0, 0, 4, 1, new int[] {1, 0, 2, 255});
        assertArrayEquals(new byte[] {(byte) 250, (byte) 240, (byte) 230, 10, 20, 30, 2, 2, 2, (byte) 255, (byte) 255,
                (byte) 255}, ImageDecoder.decode(p).pixels());
    }

    @Test
    void packedFiveAndSixBitFieldsAreTruncatedAsPilScalesA16BitBmp() {
        BufferedImage img = new BufferedImage(5, 3, BufferedImage.TYPE_USHORT_565_RGB);
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 5; x++) {
                img.getRaster().setDataElements(x, y, new short[] {(short) RND.nextInt(1 << 16)});
            }
        }
        RgbImage rgb = ImageDecoder.decode(img);
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 5; x++) {
                int v = ((short[]) img.getRaster().getDataElements(x, y, null))[0] & 0xffff;
                assertEquals((v >> 11) * 255 / 31, rgb.get(x, y, 0));
                assertEquals((v >> 5 & 63) * 255 / 63, rgb.get(x, y, 1));
                assertEquals((v & 31) * 255 / 31, rgb.get(x, y, 2));
            }
        }
    }

    @Test
    void otherPackedLayoutsGoThroughGetRgb() {
        // 3-3-2 bits in a byte: no reading of its own, so sRGB as Java scales it
        java.awt.image.DirectColorModel cm = new java.awt.image.DirectColorModel(8, 0xe0, 0x1c, 0x03);
        BufferedImage img = new BufferedImage(cm, cm.createCompatibleWritableRaster(5, 3), false, null);
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 5; x++) {
                img.setRGB(x, y, RND.nextInt());
            }
        }
        RgbImage rgb = ImageDecoder.decode(img);
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 5; x++) {
                int v = img.getRGB(x, y);
                assertEquals(v >> 16 & 0xff, rgb.get(x, y, 0));
                assertEquals(v >> 8 & 0xff, rgb.get(x, y, 1));
                assertEquals(v & 0xff, rgb.get(x, y, 2));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> ImageDecoder.decode((BufferedImage) null));
    }

    private static byte[] png(int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, RND.nextInt());
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    @Test
    void streamsDecodeAsBytesAndNameTheirErrors() throws IOException {
        byte[] png = png(6, 4);
        assertArrayEquals(ImageDecoder.decode(png, "x").pixels(),
                ImageDecoder.decode(new ByteArrayInputStream(png), "upload").pixels());
        assertArrayEquals(ImageDecoder.decode(png, "x").pixels(), ImageDecoder.decode(new ByteArrayInputStream(png)).pixels());
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode((InputStream) null, "u"));
        assertEquals("u: no stream given", e.getMessage());
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(new ByteArrayInputStream(new byte[3])));
        assertTrue(e.getMessage().startsWith("<stream>: not an image"), e.getMessage());
        InputStream failing = new InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("connection reset");
            }
        };
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(failing, "http://x/a.png"));
        assertEquals("http://x/a.png: cannot read the stream: connection reset", e.getMessage());
        InputStream silent = new InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException();
            }
        };
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(silent, "s"));
        assertEquals("s: cannot read the stream: java.io.IOException", e.getMessage());
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(new byte[0], null));
        assertEquals("<image>: empty file", e.getMessage());
    }

    @Test
    void sizeRefusalsStateTheSize() throws IOException {
        byte[] png = png(3, 2);
        byte[] wide = png.clone();
        // IHDR's width at byte 16, big-endian: 3 -> 1,000,000 (a header check; no pixel is decoded)
        wide[17] = 0x0f;
        wide[18] = 0x42;
        wide[19] = 0x40;
        String key = dev.jresnet.io.Limits.IMAGE_PIXELS.property();
        System.setProperty(key, "1999999");
        try {
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(wide, "w.png"));
            assertTrue(e.reason().startsWith("PNG image 1000000x2 pixels: 2000000 exceeds the limit of 1999999"),
                    e.getMessage());
        } finally {
            System.clearProperty(key);
        }
    }

    @Test
    void aTruncatedJpegSaysWhatTheDecoderWarned() throws IOException {
        BufferedImage img = new BufferedImage(64, 48, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 64; x++) {
                img.setRGB(x, y, RND.nextInt());
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpeg", out);
        byte[] all = out.toByteArray();
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> ImageDecoder.decode(Arrays.copyOf(all, all.length * 3 / 4), "cut.jpg"));
        assertTrue(e.reason().startsWith("corrupt or truncated JPEG (decoder warned: "), e.getMessage());
    }

    @Test
    void anEmbeddedIccProfileIsIgnoredAsPilIgnoresIt() throws IOException {
        // samples/rocket.jpg embeds a profile (APP2 ICC_PROFILE): the same file without it must decode to the same
        // bytes, as in PIL; ImageIO's default read converts from the profile (272,987 of 273,280 pixels change)
        byte[] tagged = Files.readAllBytes(PyTorchReference.projectRoot().resolve("samples/rocket.jpg"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tagged, 0, 2);
        int app2 = 0;
        for (int i = 2; ; ) {
            int marker = tagged[i + 1] & 0xff;
            int length = (tagged[i + 2] & 0xff) << 8 | (tagged[i + 3] & 0xff);
            if (marker == 0xda) {
                out.write(tagged, i, tagged.length - i);
                break;
            }
            if (marker == 0xe2) {
                app2++;
            } else {
                out.write(tagged, i, 2 + length);
            }
            i += 2 + length;
        }
        byte[] plain = out.toByteArray();
        assertEquals(1, app2, "rocket.jpg's profile segments");
        assertArrayEquals(ImageDecoder.decode(plain, "plain.jpg").pixels(), ImageDecoder.decode(tagged, "rocket.jpg").pixels());
        BufferedImage managed = ImageIO.read(new ByteArrayInputStream(tagged));
        BufferedImage unmanaged = ImageIO.read(new ByteArrayInputStream(plain));
        int differing = 0;
        for (int y = 0; y < managed.getHeight(); y++) {
            for (int x = 0; x < managed.getWidth(); x++) {
                differing += managed.getRGB(x, y) != unmanaged.getRGB(x, y) ? 1 : 0;
            }
        }
        assertTrue(differing > 100_000, "ImageIO's default read converts from the profile; else the test would not bite");
    }
}
