package dev.jresnet.cli;

import dev.jresnet.train.EpochMetrics;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.xy.XYDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The charts' content, checked on the JFreeChart objects; set -Djresnet.chartsDir=DIR to keep the PNGs for a look. */
class ChartsTest {
    @TempDir
    Path tmp;

    private Path out(String name) throws IOException {
        String keep = System.getProperty("jresnet.chartsDir");
        Path dir = keep != null ? Files.createDirectories(Path.of(keep)) : tmp;
        return dir.resolve(name);
    }

    static final Charts.Run RUN = new Charts.Run("flowers.safetensors", "resnet50.safetensors", null, "layer4", "sgd",
            0.01f, "cosine", 1, 32, 12, 224, 10);

    /**
     * A fine-tuning run as it goes: loss falling, validation top-5 reaching 100 % and top-1 with it by the end, a
     * warm-up epoch and a cosine decay; epoch 4's validation failed (NaN). {@code top5}: NaN for 5 classes or fewer.
     */
    private static List<EpochMetrics> epochs(boolean top5) {
        List<EpochMetrics> list = new ArrayList<>();
        for (int e = 1; e <= 12; e++) {
            double valLoss = e == 4 ? Double.NaN : 2.2 / Math.sqrt(e) - 0.5;
            double valTop1 = e == 4 ? Double.NaN : Math.min(1, 0.55 + 0.05 * e);
            double valTop5 = !top5 || e == 4 ? Double.NaN : Math.min(1, 0.85 + 0.05 * e);
            double lr = e == 1 ? 0.005 : 0.005 * (1 + Math.cos(Math.PI * (e - 1.5) / 11));
            list.add(new EpochMetrics(e, 2.3 / e + 0.05, valLoss, Math.min(1, 0.5 + 0.045 * e), valTop1, valTop5, 850,
                    61.5, lr));
        }
        return list;
    }

    private static List<XYPlot> panels(JFreeChart chart) {
        List<XYPlot> l = new ArrayList<>();
        for (Object p : ((CombinedDomainXYPlot) chart.getPlot()).getSubplots()) {
            l.add((XYPlot) p);
        }
        return l;
    }

    private static List<String> seriesNames(XYPlot plot) {
        List<String> l = new ArrayList<>();
        XYDataset d = plot.getDataset();
        for (int i = 0; i < d.getSeriesCount(); i++) {
            l.add(d.getSeriesKey(i).toString());
        }
        return l;
    }

    private static String subtitles(JFreeChart chart) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < chart.getSubtitleCount(); i++) {
            if (chart.getSubtitle(i) instanceof TextTitle t) {
                sb.append(t.getText()).append('\n');
            }
        }
        return sb.toString();
    }

    @Test
    void trainingCurvesShowTheSettingsTheLearningRateAndTop5() throws IOException {
        JFreeChart chart = Charts.curves(epochs(true), RUN);
        assertEquals("Fine-tuning flowers.safetensors", chart.getTitle().getText());
        assertEquals("from resnet50.safetensors, 10 classes; unfreeze layer4\nsgd, lr 0.01, cosine schedule after 1 "
                + "warm-up epoch; batch 32; 12 epochs; 224 px\n", subtitles(chart));
        Charts.Run untrained = new Charts.Run("m.safetensors", "seeded untrained resnet18 (seed 0)", "resnet18", "fc",
                "adamw", 1e-4f, "step", 0, 8, 3, 64, 6);
        assertEquals(List.of("from seeded untrained resnet18 (seed 0), 6 classes; unfreeze fc",
                "adamw, lr 0.0001, step schedule; batch 8; 3 epochs; 64 px"), untrained.settings());
        assertEquals("from a.safetensors (resnext50_32x4d), 6 classes; unfreeze fc", new Charts.Run("m",
                "a.safetensors", "resnext50_32x4d", "fc", "sgd", 0.01f, "cosine", 0, 8, 3, 64, 6).settings().get(0));
        List<XYPlot> panels = panels(chart);
        assertEquals(3, panels.size(), "loss, accuracy, learning rate");
        assertEquals(List.of("train loss", "validation loss"), seriesNames(panels.get(0)));
        XYPlot acc = panels.get(1);
        assertEquals(List.of("train top-1", "validation top-1", "validation top-5"), seriesNames(acc));
        assertTrue(acc.getRangeAxis().getUpperBound() > 100, "100 % is drawn inside the frame");
        // Top-5 is drawn last, dashed over top-1, so it shows where both are 100 %.
        XYLineAndShapeRenderer r = (XYLineAndShapeRenderer) acc.getRenderer();
        assertNotNull(((BasicStroke) r.getSeriesStroke(2)).getDashArray(), "top-5 dashed");
        assertNull(((BasicStroke) r.getSeriesStroke(1)).getDashArray(), "top-1 solid");
        assertNotEquals(r.getSeriesPaint(1), r.getSeriesPaint(2));
        XYPlot lr = panels.get(2);
        assertEquals("learning rate", lr.getRangeAxis().getLabel());
        assertEquals(0, lr.getRangeAxis().getLowerBound(), "the learning rate from 0");
        assertEquals(12, lr.getDataset().getItemCount(0));
        assertEquals(0.005, lr.getDataset().getYValue(0, 0), 1e-12);
        assertEquals(11, acc.getDataset().getItemCount(1), "epoch 4's NaN is left out, not drawn as 0");

        Path png = out("training-curves.png");
        Charts.trainingCurves(png, epochs(true), RUN, 900, 760);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(900, img.getWidth());
        assertEquals(760, img.getHeight());
        assertTrue(distinctColours(img) > 20, "a plot, not a blank image");
        assertNoTempFiles(png.getParent());
    }

    @Test
    void absentSeriesAreLeftOut() throws IOException {
        // 5 classes: no top-5; no validation set; an old history without learning rates.
        List<EpochMetrics> bare = new ArrayList<>();
        for (int e = 1; e <= 3; e++) {
            bare.add(new EpochMetrics(e, 1.0 / e, Double.NaN, 0.3 * e, Double.NaN, Double.NaN, 100, 2));
        }
        JFreeChart chart = Charts.curves(bare, null);
        assertEquals("Training curves", chart.getTitle().getText());
        List<XYPlot> panels = panels(chart);
        assertEquals(2, panels.size(), "no learning rate recorded: no panel");
        assertEquals(List.of("train loss"), seriesNames(panels.get(0)));
        assertEquals(List.of("train top-1"), seriesNames(panels.get(1)));
        assertEquals(List.of("train top-1", "validation top-1"), seriesNames(panels(Charts.curves(epochs(false), RUN))
                .get(1)), "top-5 NaN (5 classes or fewer): no top-5 line");

        Charts.trainingCurves(out("training-curves-no-top5.png"), epochs(false), RUN);
        Path one = out("training-curves-1.png");
        Charts.trainingCurves(one, epochs(true).subList(0, 1), RUN); // one epoch, default size: still a chart
        assertEquals(Charts.DEFAULT_WIDTH, ImageIO.read(one.toFile()).getWidth());
    }

    @Test
    void aLossSpikeGetsALogAxisSoTheRestStaysReadable() throws IOException {
        // As finetune --demo's first epoch: validation loss 2900 (train-mode BatchNorm), then 42, 1.7, 0.8.
        double[] val = {2899.8, 42.1, 1.73, 0.80, 0.75, 0.68};
        List<EpochMetrics> spiky = new ArrayList<>();
        for (int e = 1; e <= val.length; e++) {
            spiky.add(new EpochMetrics(e, 5.0 / e, val[e - 1], 0.1 * e, 0.12 * e, 0.9, 25, 12, 0.05 / e));
        }
        XYPlot loss = panels(Charts.curves(spiky, RUN)).get(0);
        assertTrue(loss.getRangeAxis() instanceof org.jfree.chart.axis.LogAxis, "a 4000x span: log axis");
        assertTrue(loss.getRangeAxis().getLabel().contains("log scale"));
        XYPlot calm = panels(Charts.curves(epochs(true), RUN)).get(0);
        assertTrue(calm.getRangeAxis() instanceof org.jfree.chart.axis.NumberAxis, "an ordinary run: linear from 0");
        Charts.trainingCurves(out("training-curves-spike.png"), spiky, RUN);
    }

    private static int[][] confusion(int k, int correct, int wrong) {
        int[][] counts = new int[k][k];
        for (int t = 0; t < k; t++) {
            counts[t][t] = correct + t % 7;
            counts[t][(t + 1) % k] += wrong;
            counts[t][(t + 3) % k] += t % 2;
        }
        return counts;
    }

    private static List<String> names(int k, String prefix) {
        List<String> l = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            l.add(prefix + i);
        }
        return l;
    }

    @Test
    void confusionMatrixTitleNamesTheModelAndItsAccuracy() throws IOException {
        int[][] counts = {{45, 5}, {10, 40}};
        JFreeChart chart = Charts.confusion(tmp, counts, List.of("cat", "dog"), "pets.safetensors (resnet50)", 720,
                600);
        assertEquals("pets.safetensors (resnet50): top-1 85.00 % of 100 images", chart.getTitle().getText());
        assertTrue(subtitles(chart).startsWith("2 classes"), subtitles(chart));
        XYPlot plot = (XYPlot) chart.getPlot();
        assertFalse(((SymbolAxis) plot.getDomainAxis()).isVerticalTickLabels(), "short names stay horizontal");
        assertEquals(4, plot.getAnnotations().size(), "a count in every cell");
        Charts.confusionMatrix(out("confusion-2.png"), counts, List.of("cat", "dog"), "pets.safetensors (resnet50)");
    }

    @Test
    void confusionMatrixLabelsTurnOnlyWhenLongAndThinOutWhenCrowded() throws IOException {
        // SyntheticShapes' six names at the default size: the image widens a little rather than turn them.
        List<String> shapes = dev.jresnet.train.SyntheticShapes.CLASSES;
        int[] size = ConfusionLayout.defaultSize(shapes);
        assertFalse(ConfusionLayout.of(shapes, confusion(6, 9, 1), size[0], size[1]).rotated(), size[0] + " px");
        Charts.confusionMatrix(out("confusion-6.png"), confusion(6, 9, 1), shapes, "shapes.safetensors (resnet18)");

        ConfusionLayout shortNames = ConfusionLayout.of(names(10, "c"), confusion(10, 40, 3), 900, 800);
        assertFalse(shortNames.rotated());
        assertEquals(1, shortNames.step());
        assertNotNull(shortNames.countFont());

        List<String> long10 = names(10, "Lesser spotted woodpecker ");
        ConfusionLayout longNames = ConfusionLayout.of(long10, confusion(10, 40, 3), 900, 800);
        assertTrue(longNames.rotated(), "names wider than a column turn vertical");
        assertEquals("Lesser spotted \u2026pecker 3", longNames.shownNames().get(3), "cut in the middle: ends differ");
        assertEquals(ConfusionLayout.MAX_NAME, longNames.shownNames().get(3).length());

        // 100 classes at the default size: every name fits, and the counts but zeros.
        List<String> many = names(100, "n");
        Path big = out("confusion-100.png");
        Charts.confusionMatrix(big, confusion(100, 9, 1), many, "birds.safetensors (resnet50)");
        int[] bigSize = ConfusionLayout.defaultSize(many);
        BufferedImage img = ImageIO.read(big.toFile());
        assertEquals(bigSize[0], img.getWidth());
        ConfusionLayout hundred = ConfusionLayout.of(many, confusion(100, 9, 1), bigSize[0], bigSize[1]);
        assertEquals(1, hundred.step());
        assertNotNull(hundred.countFont());
        assertFalse(hundred.writes(0, 100));
        assertTrue(hundred.writes(0, 12) && hundred.writes(3, 100));
        // The same 100 classes squeezed into 800 px: every 2nd or 3rd name, none overlapping.
        ConfusionLayout squeezed = ConfusionLayout.of(many, confusion(100, 9, 1), 800, 800);
        assertTrue(squeezed.step() > 1, "step " + squeezed.step());
        assertNull(squeezed.countFont(), "cells too small for numbers");
        assertEquals("", squeezed.shownNames().get(1));
        assertEquals("n0", squeezed.shownNames().get(0));
        Charts.confusionMatrix(out("confusion-100-800px.png"), confusion(100, 9, 1), many, null, 800, 800);

        Path png = out("confusion-long.png");
        Charts.confusionMatrix(png, confusion(10, 40, 3), long10, "birds.safetensors (resnet50)");
        assertTrue(distinctColours(ImageIO.read(png.toFile())) > 20);
        Charts.confusionMatrix(out("confusion-10.png"), confusion(10, 40, 3), names(10, "class "), null);
        assertNoTempFiles(png.getParent());
    }

    @Test
    void rejectsBadInput() {
        Path png = tmp.resolve("x.png");
        assertThrows(IllegalArgumentException.class, () -> Charts.trainingCurves(png, List.of(), RUN));
        assertThrows(IllegalArgumentException.class, () -> Charts.confusionMatrix(png, new int[][] {{1, 2}},
                List.of("a"), null));
        assertThrows(IllegalArgumentException.class, () -> Charts.confusionMatrix(png, new int[][] {{1}},
                List.of("a", "b"), null));
        assertThrows(IllegalArgumentException.class, () -> Charts.trainingCurves(png, epochs(true), RUN, 10, 10));
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
