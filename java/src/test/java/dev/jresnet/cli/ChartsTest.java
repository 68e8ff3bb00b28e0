package dev.jresnet.cli;

import dev.jresnet.train.EpochMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChartsTest {
    @TempDir
    Path tmp;

    /** Set -Djresnet.chartsDir=DIR to keep the PNGs for a look. */
    private Path out(String name) throws IOException {
        String keep = System.getProperty("jresnet.chartsDir");
        Path dir = keep != null ? Files.createDirectories(Path.of(keep)) : tmp;
        return dir.resolve(name);
    }

    private static List<EpochMetrics> epochs() {
        List<EpochMetrics> list = new ArrayList<>();
        for (int e = 1; e <= 12; e++) {
            double valLoss = e == 4 ? Double.NaN : 2.5 / Math.sqrt(e) + 0.1;
            list.add(new EpochMetrics(e, 2.3 / e + 0.05, valLoss, 1 - 0.8 / e, 0.9 - 0.7 / e, 0.99 - 0.4 / e, 850, 61.5));
        }
        return list;
    }

    @Test
    void trainingCurvesPng() throws IOException {
        Path png = out("training-curves.png");
        Charts.trainingCurves(png, epochs(), 900, 640);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(900, img.getWidth());
        assertEquals(640, img.getHeight());
        assertTrue(distinctColours(img) > 20, "a plot, not a blank image");
        Path one = out("training-curves-1.png");
        Charts.trainingCurves(one, epochs().subList(0, 1)); // one epoch, default size: still a chart
        assertEquals(Charts.DEFAULT_WIDTH, ImageIO.read(one.toFile()).getWidth());
        assertNoTempFiles(png.getParent());
    }

    @Test
    void confusionMatrixPng() throws IOException {
        int k = 10;
        int[][] counts = new int[k][k];
        List<String> names = new ArrayList<>();
        for (int t = 0; t < k; t++) {
            names.add("class " + t);
            for (int p = 0; p < k; p++) {
                counts[t][p] = t == p ? 40 + 5 * t : (t + p) % 3;
            }
        }
        Path png = out("confusion.png");
        Charts.confusionMatrix(png, counts, names, 800, 700);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(800, img.getWidth());
        assertEquals(700, img.getHeight());
        assertTrue(distinctColours(img) > 20);

        int big = 100; // too many classes to label: colours only
        int[][] many = new int[big][big];
        List<String> manyNames = new ArrayList<>();
        for (int t = 0; t < big; t++) {
            manyNames.add("c" + t);
            many[t][t] = 5;
            many[t][(t + 1) % big] = 1;
        }
        Path large = out("confusion-100.png");
        Charts.confusionMatrix(large, many, manyNames);
        assertTrue(ImageIO.read(large.toFile()).getWidth() > 0);
        assertNoTempFiles(png.getParent());
    }

    @Test
    void rejectsBadInput() {
        Path png = tmp.resolve("x.png");
        assertThrows(IllegalArgumentException.class, () -> Charts.trainingCurves(png, List.of()));
        assertThrows(IllegalArgumentException.class, () -> Charts.confusionMatrix(png, new int[][] {{1, 2}}, List.of("a")));
        assertThrows(IllegalArgumentException.class, () -> Charts.confusionMatrix(png, new int[][] {{1}}, List.of("a", "b")));
        assertThrows(IllegalArgumentException.class, () -> Charts.trainingCurves(png, epochs(), 10, 10));
        assertTrue(Files.notExists(png));
    }

    private static int distinctColours(BufferedImage img) {
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 3) {
            for (int x = 0; x < img.getWidth(); x += 3) {
                colours.add(img.getRGB(x, y));
            }
        }
        return colours.size();
    }

    private static void assertNoTempFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }
    }
}
