package dev.jresnet.image;

import dev.jresnet.testing.PyTorchReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class ImageDecoderTest {
    @TempDir
    Path tmp;

    private static ImageDecodeException rejects(Path p, String reasonPart) {
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(p));
        assertEquals(p.toString(), e.file());
        assertTrue(e.getMessage().startsWith(p.toString() + ": "), e.getMessage());
        assertTrue(e.reason().toLowerCase().contains(reasonPart), e.getMessage());
        return e;
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) {
            throw new IllegalStateException("no " + format + " writer");
        }
        return out.toByteArray();
    }

    private static BufferedImage pattern(int w, int h, int type) {
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (((x * 37 + y) & 0xff) << 24) | ((x * 5) & 0xff) << 16 | ((y * 9) & 0xff) << 8 | ((x * y) & 0xff));
            }
        }
        return img;
    }

    @Test
    void truncatedJpegIsRejectedNotHalfDecoded() throws URISyntaxException {
        Path p = Path.of(ImageDecoderTest.class.getResource("truncated.jpg").toURI());
        rejects(p, "jpeg");
    }

    @Test
    void truncatedSamplesAreRejected() throws IOException {
        Path root = PyTorchReference.projectRoot();
        for (String sample : new String[] {"rocket.jpg", "chelsea.png"}) {
            byte[] all = Files.readAllBytes(root.resolve("samples").resolve(sample));
            for (int len : new int[] {all.length / 2, all.length * 9 / 10, 40}) {
                rejects(write("cut" + len + "-" + sample, Arrays.copyOf(all, len)), "truncated");
            }
        }
    }

    @Test
    void emptyMissingTextRandomAndDirectoryAreRejected() throws IOException {
        rejects(write("empty.png", new byte[0]), "empty");
        rejects(tmp.resolve("does-not-exist.jpg"), "no such file");
        rejects(write("notes.png", "this is not an image\n".getBytes(StandardCharsets.UTF_8)), "not an image (png, jpeg, gif, bmp or tiff)");
        byte[] random = new byte[4096];
        new Random(7).nextBytes(random);
        random[0] = 0x42; // not 0x89 or 0xff, so it cannot accidentally carry a signature
        rejects(write("random.jpg", random), "not an image (png, jpeg, gif, bmp or tiff)");
        Path dir = Files.createDirectory(tmp.resolve("folder.png"));
        rejects(dir, "directory");
    }

    @Test
    void bytesOverloadNamesTheCaller() {
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(new byte[] {1, 2, 3}, "upload #3"));
        assertTrue(e.getMessage().startsWith("upload #3: "), e.getMessage());
        assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode((byte[]) null, "x"));
    }

    @Test
    void zeroSizeAndHugeHeadersAreRejectedBeforeDecoding() throws IOException {
        byte[] someZlib = {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
        rejects(write("zero.png", TestPngs.rgb8(0, 10, someZlib)), "png");
        ImageDecodeException e = rejects(write("huge.png", TestPngs.rgb8(200_000, 200_000, someZlib)), "pixels");
        assertTrue(e.reason().contains("200000x200000"), e.getMessage());
    }

    @Test
    void greyPngIsReplicatedWithoutGammaConversion() throws IOException {
        BufferedImage grey = new BufferedImage(5, 3, BufferedImage.TYPE_BYTE_GRAY);
        for (int i = 0; i < 15; i++) {
            grey.getRaster().setSample(i % 5, i / 5, 0, i * 17);
        }
        RgbImage rgb = ImageDecoder.decode(write("grey.png", encode(grey, "png")));
        for (int i = 0; i < 15; i++) {
            for (int c = 0; c < 3; c++) {
                assertEquals(i * 17, rgb.get(i % 5, i / 5, c));
            }
        }
    }

    @Test
    void alphaIsDroppedNotComposited() throws IOException {
        BufferedImage argb = pattern(9, 7, BufferedImage.TYPE_INT_ARGB);
        RgbImage rgb = ImageDecoder.decode(write("rgba.png", encode(argb, "png")));
        for (int y = 0; y < 7; y++) {
            for (int x = 0; x < 9; x++) {
                int v = argb.getRGB(x, y);
                assertEquals((v >> 16) & 0xff, rgb.get(x, y, 0));
                assertEquals((v >> 8) & 0xff, rgb.get(x, y, 1));
                assertEquals(v & 0xff, rgb.get(x, y, 2));
            }
        }
    }

    @Test
    void paletteIsLookedUp() throws IOException {
        byte[] r = {0, (byte) 255, 10, 20};
        byte[] g = {0, 0, (byte) 200, 30};
        byte[] b = {0, 0, 5, (byte) 250};
        BufferedImage p = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_BINARY, new IndexColorModel(2, 4, r, g, b));
        for (int i = 0; i < 8; i++) {
            p.getRaster().setSample(i % 4, i / 4, 0, i % 4);
        }
        RgbImage rgb = ImageDecoder.decode(write("palette.png", encode(p, "png")));
        for (int i = 0; i < 8; i++) {
            assertEquals(r[i % 4] & 0xff, rgb.get(i % 4, i / 4, 0));
            assertEquals(g[i % 4] & 0xff, rgb.get(i % 4, i / 4, 1));
            assertEquals(b[i % 4] & 0xff, rgb.get(i % 4, i / 4, 2));
        }
    }

    @Test
    void harmlessJpegWarningsAreTolerated() throws IOException {
        byte[] jpeg = encode(pattern(32, 16, BufferedImage.TYPE_3BYTE_BGR), "jpeg");
        // Stray bytes between header segments: libjpeg warns "3 extraneous bytes before marker 0xdb" and
        // decodes the image completely, as PIL does without complaint.
        int at = 4 + (((jpeg[4] & 0xff) << 8) | (jpeg[5] & 0xff)); // just past the APP0 segment
        byte[] padded = new byte[jpeg.length + 3];
        System.arraycopy(jpeg, 0, padded, 0, at);
        padded[at] = 0x12;
        padded[at + 1] = 0x34;
        padded[at + 2] = 0x56;
        System.arraycopy(jpeg, at, padded, at + 3, jpeg.length - at);
        RgbImage a = ImageDecoder.decode(jpeg, "clean");
        RgbImage b = ImageDecoder.decode(padded, "padded");
        assertTrue(Arrays.equals(a.pixels(), b.pixels()));
    }

    @Test
    void decodesTheSamplePhotos() throws IOException {
        Path samples = PyTorchReference.projectRoot().resolve("samples");
        RgbImage a = ImageDecoder.decode(samples.resolve("astronaut.png"));
        assertEquals(512, a.width());
        assertEquals(512, a.height());
        RgbImage r = ImageDecoder.decode(samples.resolve("rocket.jpg"));
        assertEquals(640, r.width());
        assertEquals(427, r.height());
    }

    /**
     * Corrupted and random inputs must end in a decoded image or an ImageDecodeException, quickly: never
     * another exception type, a hang, or an OutOfMemoryError from a forged header.
     */
    @Test
    void corruptedInputsNeverCrashOrHang() throws IOException {
        byte[] jpeg = encode(pattern(64, 48, BufferedImage.TYPE_3BYTE_BGR), "jpeg");
        byte[] pngBytes = encode(pattern(64, 48, BufferedImage.TYPE_INT_ARGB), "png");
        Random rnd = new Random(20240601);
        int[] outcomes = new int[2];
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            for (byte[] original : new byte[][] {jpeg, pngBytes}) {
                for (int trial = 0; trial < 150; trial++) {
                    byte[] b;
                    switch (trial % 3) {
                        case 0 -> { // a few flipped bytes anywhere, the header included
                            b = original.clone();
                            for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
                                b[rnd.nextInt(b.length)] ^= (byte) (1 + rnd.nextInt(255));
                            }
                        }
                        case 1 -> b = Arrays.copyOf(original, 1 + rnd.nextInt(original.length - 1)); // truncated
                        default -> { // the real signature and header, then noise
                            b = Arrays.copyOf(original, 20 + rnd.nextInt(2000));
                            for (int i = 20 + rnd.nextInt(20); i < b.length; i++) {
                                b[i] = (byte) rnd.nextInt(256);
                            }
                        }
                    }
                    try {
                        RgbImage img = ImageDecoder.decode(b, "fuzz-" + trial);
                        assertTrue(img.width() > 0 && img.height() > 0);
                        outcomes[0]++;
                    } catch (ImageDecodeException e) {
                        assertTrue(e.getMessage().startsWith("fuzz-" + trial + ": "), e.getMessage());
                        outcomes[1]++;
                    } catch (RuntimeException | Error e) {
                        fail("trial " + trial + " threw " + e, e);
                    }
                }
            }
        });
        System.out.println("fuzz: " + outcomes[0] + " decoded, " + outcomes[1] + " rejected with ImageDecodeException");
    }
}
