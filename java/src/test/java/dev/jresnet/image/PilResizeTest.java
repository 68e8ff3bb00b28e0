package dev.jresnet.image;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Resize#resize} byte for byte against PIL's {@code Image.resize(size, BILINEAR)} of a 23x17 noise image, made
 * by weights/reference/pil_fixtures.py and committed (down and up by odd ratios, one side only, to one pixel), so that
 * Pillow's coefficients and rounding are checked without PIL; and the size checks of every resize entry point.
 */
class PilResizeTest {
    @Test
    void bilinearResizeIsPilsToTheByte() throws Exception {
        Path dir = Path.of(PilResizeTest.class.getResource("pil/resize/source.rgb").toURI()).getParent();
        RgbImage src = new RgbImage(23, 17, Files.readAllBytes(dir.resolve("source.rgb")));
        List<String> checked = new ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.equals("source.rgb")) {
                    continue;
                }
                String[] wh = name.replace(".rgb", "").split("x");
                int w = Integer.parseInt(wh[0]), h = Integer.parseInt(wh[1]);
                assertArrayEquals(Files.readAllBytes(f), Resize.resize(src, w, h).pixels(), name);
                checked.add(name);
            }
        }
        assertEquals(9, checked.size(), checked.toString());
        // the crop-only path computes the same bytes for any window of a resize
        RgbImage full = Resize.resize(src, 40, 30);
        assertArrayEquals(Resize.centerCrop(full, 30).pixels(), Resize.resizeAndCenterCrop(src, 30, 30).pixels());
    }

    @Test
    void sizesAreChecked() {
        RgbImage img = new RgbImage(4, 3, new byte[36]);
        for (int[] wh : new int[][] {{0, 3}, {3, 0}, {-1, 2}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Resize.resize(img, wh[0], wh[1]));
            assertEquals("target size " + wh[0] + "x" + wh[1] + " must be positive", e.getMessage());
        }
        assertEquals("target size 50000x50000 is too large", assertThrows(IllegalArgumentException.class,
                () -> Resize.resize(img, 50000, 50000)).getMessage());
        assertEquals(1, Resize.resize(img, 1, 1).width());
        RgbImage same = Resize.resize(img, 4, 3);
        assertArrayEquals(img.pixels(), same.pixels());
        assertTrue(same.pixels() != img.pixels(), "a copy, as Pillow's resize to the same size");

        assertEquals("crop size 0 must be positive", assertThrows(IllegalArgumentException.class,
                () -> Resize.centerCrop(img, 0)).getMessage());
        assertEquals(1, Resize.centerCrop(img, 1).width());
        for (int resize : new int[] {3, 2}) { // the size unchanged (a plain crop) and changed
            assertEquals("crop size 0 must be positive", assertThrows(IllegalArgumentException.class,
                    () -> Resize.resizeAndCenterCrop(img, resize, 0)).getMessage());
        }
        assertEquals(1, Resize.resizeAndCenterCrop(img, 3, 1).width());
        assertEquals("resize size 0 must be positive", assertThrows(IllegalArgumentException.class,
                () -> Resize.resizeAndCenterCrop(img, 0, 2)).getMessage());
        for (int[] wh : new int[][] {{0, 3}, {3, 0}}) {
            assertEquals("image size " + wh[0] + "x" + wh[1] + " must be positive", assertThrows(
                    IllegalArgumentException.class, () -> Resize.resizedSize(wh[0], wh[1], 3)).getMessage());
        }
        assertArrayEquals(new int[] {1, 2147483646}, Resize.resizedSize(1, Integer.MAX_VALUE - 1, 1));
        assertEquals("resizing 1x2147483647 so its shorter side is 1 gives a longer side of 2147483647 pixels",
                assertThrows(IllegalArgumentException.class, () -> Resize.resizedSize(1, Integer.MAX_VALUE, 1)).getMessage());
        assertArrayEquals(new int[] {5, 5}, Resize.resizedSize(7, 7, 5));
        assertSame(img, Resize.resizeShorterSide(img, 3), "torchvision hands back the image itself");
    }
}
