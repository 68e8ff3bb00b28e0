package dev.jresnet.train;

import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SyntheticShapesTest {
    @TempDir
    Path tmp;

    @Test
    void writesTheRequestedImages() throws IOException {
        List<String> classes = SyntheticShapes.generate(tmp, 3, 64, 7);
        ImageFolder folder = ImageFolder.scan(tmp);
        assertEquals(classes, folder.classes());
        assertEquals(6, classes.size());
        assertEquals(18, folder.samples().size());
        for (int c = 0; c < classes.size(); c++) {
            int label = c;
            assertEquals(3, folder.samples().stream().filter(s -> s.label() == label).count());
        }
        for (Sample s : folder.samples()) {
            RgbImage img = ImageDecoder.decode(s.file());
            assertEquals(64, img.width());
            assertEquals(64, img.height());
        }
    }

    @Test
    void sameSeedSameBytes() throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        Path c = tmp.resolve("c");
        SyntheticShapes.generate(a, 2, 48, 123);
        SyntheticShapes.generate(b, 2, 48, 123);
        SyntheticShapes.generate(c, 2, 48, 124);
        List<Sample> sa = ImageFolder.scan(a).samples();
        boolean anyDiffers = false;
        for (Sample s : sa) {
            Path rel = a.relativize(s.file());
            byte[] bytes = Files.readAllBytes(s.file());
            assertArrayEquals(bytes, Files.readAllBytes(b.resolve(rel)), rel.toString());
            anyDiffers |= !java.util.Arrays.equals(bytes, Files.readAllBytes(c.resolve(rel)));
        }
        assertEquals(true, anyDiffers, "another seed should draw other images");
    }

    @Test
    void imagesOfAClassDiffer() {
        RgbImage first = null;
        for (int i = 0; i < 3; i++) {
            java.awt.image.BufferedImage img = SyntheticShapes.draw("red_circle", 32, SplitMix64.derive(1, 4, i));
            int[] px = img.getRGB(0, 0, 32, 32, null, 0, 32);
            byte[] bytes = new byte[32 * 32 * 3];
            for (int k = 0; k < px.length; k++) {
                bytes[k * 3] = (byte) (px[k] >> 16);
                bytes[k * 3 + 1] = (byte) (px[k] >> 8);
                bytes[k * 3 + 2] = (byte) px[k];
            }
            RgbImage r = new RgbImage(32, 32, bytes);
            if (first != null) {
                assertFalse(java.util.Arrays.equals(first.pixels(), r.pixels()));
            }
            first = r;
        }
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> SyntheticShapes.generate(tmp, 0, 64, 1));
        assertThrows(IllegalArgumentException.class, () -> SyntheticShapes.generate(tmp, 1, 8, 1));
    }
}
