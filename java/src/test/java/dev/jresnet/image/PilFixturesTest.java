package dev.jresnet.image;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conversions PIL defines, checked without PIL: small files and PIL's {@code convert("RGB")} of each, made once by
 * weights/reference/pil_fixtures.py and committed (CMYK and YCCK JPEG, CMYK and palette TIFF, 16-bit grey TIFF, GIF
 * frames on a larger logical screen, sticking out of it, with and without transparency, and palette indices past the
 * file's colour table in PNG, BMP and GIF, which PIL reads as grey (i, i, i), a GIF with no colour table, and 16-bit
 * BMPs, 5-5-5 and 5-6-5). ImageFormatsPilTest checks
 * more files against PIL itself where PIL is there.
 */
class PilFixturesTest {
    private static Path dir() throws URISyntaxException {
        return Path.of(PilFixturesTest.class.getResource("pil/manifest.tsv").toURI()).getParent();
    }

    @Test
    void everyFixtureDecodesToPilsBytes() throws Exception {
        Path dir = dir();
        List<String> failures = new ArrayList<>();
        int compared = 0;
        for (String line : Files.readAllLines(dir.resolve("manifest.tsv"))) {
            String[] f = line.split("\t");
            RgbImage img = ImageDecoder.decode(dir.resolve(f[0]));
            byte[] pil = Files.readAllBytes(dir.resolve(f[0] + ".rgb"));
            String size = img.width() + "x" + img.height();
            if (!size.equals(f[2] + "x" + f[3])) {
                failures.add(f[0] + ": " + size + ", PIL " + f[2] + "x" + f[3]);
                continue;
            }
            int differing = 0;
            int max = 0;
            for (int i = 0; i < pil.length; i++) {
                int d = Math.abs((pil[i] & 0xff) - (img.pixels()[i] & 0xff));
                differing += d != 0 ? 1 : 0;
                max = Math.max(max, d);
            }
            if (differing != 0) {
                failures.add(f[0] + " (PIL mode " + f[1] + "): " + differing + " samples differ, by up to " + max);
            }
            compared++;
        }
        assertEquals(19, compared, "files in the manifest");
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    /** The fixtures bite: ImageIO's own decoding of each differs from PIL's, which the decoder must correct. */
    @Test
    void imageIoAloneWouldDifferOnEachFixture() throws Exception {
        Path dir = dir();
        for (String name : List.of("palette.tif", "grey16.tif", "moved-frame.gif", "screen.gif", "outside.gif", "taller.gif",
                "wider.gif", "no-gce.gif", "short-plte.png", "short-plte-4bit.png", "short-palette.bmp", "past-table.gif", "rgb555.bmp",
                "rgb565.bmp", "no-table.gif")) {
            BufferedImage io = ImageIO.read(dir.resolve(name).toFile());
            byte[] pil = Files.readAllBytes(dir.resolve(name + ".rgb"));
            assertNotEquals(0, differences(io, pil), name + ": ImageIO alone gives PIL's bytes; the fixture checks nothing");
        }
    }

    /** Samples of ImageIO's sRGB view of {@code io} that differ from {@code pil} (-1 when the sizes differ). */
    private static int differences(BufferedImage io, byte[] pil) throws IOException {
        if (pil.length != io.getWidth() * io.getHeight() * 3) {
            return -1;
        }
        int n = 0;
        for (int y = 0; y < io.getHeight(); y++) {
            for (int x = 0; x < io.getWidth(); x++) {
                int argb = io.getRGB(x, y);
                int o = (y * io.getWidth() + x) * 3;
                n += (pil[o] & 0xff) != (argb >> 16 & 0xff) ? 1 : 0;
                n += (pil[o + 1] & 0xff) != (argb >> 8 & 0xff) ? 1 : 0;
                n += (pil[o + 2] & 0xff) != (argb & 0xff) ? 1 : 0;
            }
        }
        return n;
    }
}
