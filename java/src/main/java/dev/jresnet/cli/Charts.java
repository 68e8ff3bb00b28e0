package dev.jresnet.cli;

import dev.jresnet.io.AtomicFile;

import dev.jresnet.train.EpochMetrics;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.LookupPaintScale;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The training command's PNG plots, drawn with JFreeChart without a display. Only the CLI uses this class, so
 * JFreeChart stays an optional dependency that never reaches an application embedding the engine.
 */
final class Charts {
    static final int DEFAULT_WIDTH = 1000;
    static final int DEFAULT_HEIGHT = 750;
    /** Beyond this many classes, counts in the cells and class names on the axes would be unreadable. */
    static final int MAX_LABELLED_CLASSES = 40;

    private static final Color[] SERIES = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c)};

    static {
        // Drawing needs no display; this keeps a CLI run over SSH or in CI from trying to open one.
        System.setProperty("java.awt.headless", "true");
    }

    private Charts() {}

    static void trainingCurves(Path png, List<EpochMetrics> epochs) throws IOException {
        trainingCurves(png, epochs, DEFAULT_WIDTH, DEFAULT_HEIGHT);
    }

    /** Loss (train, validation) above accuracy in % (train top-1, validation top-1 and top-5), per epoch. */
    static void trainingCurves(Path png, List<EpochMetrics> epochs, int width, int height) throws IOException {
        if (epochs == null || epochs.isEmpty()) {
            throw new IllegalArgumentException(png + ": no epochs to plot");
        }
        NumberAxis epochAxis = new NumberAxis("epoch");
        epochAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        epochAxis.setAutoRangeIncludesZero(false);
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(epochAxis);
        plot.setGap(12);

        XYSeriesCollection losses = new XYSeriesCollection();
        losses.addSeries(series("train loss", epochs, EpochMetrics::trainLoss, 1));
        losses.addSeries(series("validation loss", epochs, EpochMetrics::valLoss, 1));
        NumberAxis lossAxis = new NumberAxis("cross-entropy loss");
        lossAxis.setAutoRangeIncludesZero(true);
        plot.add(linePlot(losses, lossAxis), 1);

        XYSeriesCollection accuracy = new XYSeriesCollection();
        accuracy.addSeries(series("train top-1", epochs, EpochMetrics::trainTop1, 100));
        accuracy.addSeries(series("validation top-1", epochs, EpochMetrics::valTop1, 100));
        accuracy.addSeries(series("validation top-5", epochs, EpochMetrics::valTop5, 100));
        NumberAxis accAxis = new NumberAxis("accuracy (%)");
        accAxis.setRange(0, 100);
        plot.add(linePlot(accuracy, accAxis), 1);

        JFreeChart chart = new JFreeChart("Training curves", JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        writePng(png, chart, width, height);
    }

    static void confusionMatrix(Path png, int[][] counts, List<String> classNames) throws IOException {
        int k = counts == null ? 0 : counts.length;
        int side = Math.max(600, Math.min(2000, 200 + 40 * k));
        confusionMatrix(png, counts, classNames, side + 120, side);
    }

    /**
     * A heat map of {@code counts[true][predicted]}, coloured by the fraction of each true class (so rare classes
     * show as clearly as common ones), with the count written in each cell for up to {@value #MAX_LABELLED_CLASSES}
     * classes.
     */
    static void confusionMatrix(Path png, int[][] counts, List<String> classNames, int width, int height)
            throws IOException {
        int k = checkSquare(png, counts);
        if (classNames == null || classNames.size() != k) {
            throw new IllegalArgumentException(png + ": " + k + " classes in the confusion matrix but "
                    + (classNames == null ? "no" : classNames.size()) + " class names");
        }
        double[] xs = new double[k * k];
        double[] ys = new double[k * k];
        double[] zs = new double[k * k];
        for (int t = 0; t < k; t++) {
            long rowTotal = 0;
            for (int c : counts[t]) {
                rowTotal += c;
            }
            for (int p = 0; p < k; p++) {
                int i = t * k + p;
                xs[i] = p;
                ys[i] = t;
                zs[i] = rowTotal == 0 ? 0 : (double) counts[t][p] / rowTotal;
            }
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("counts", new double[][] {xs, ys, zs});

        boolean labelled = k <= MAX_LABELLED_CLASSES;
        NumberAxis xAxis = classAxis("predicted class", classNames, labelled);
        NumberAxis yAxis = classAxis("true class", classNames, labelled);
        yAxis.setInverted(true); // class 0 at the top, as in the text table
        if (labelled) {
            xAxis.setVerticalTickLabels(true);
        }
        XYBlockRenderer renderer = new XYBlockRenderer();
        PaintScale scale = blues();
        renderer.setPaintScale(scale);
        XYPlot plot = new XYPlot(data, xAxis, yAxis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        plot.setAxisOffset(RectangleInsets.ZERO_INSETS);
        if (labelled) {
            Font font = new Font(Font.SANS_SERIF, Font.PLAIN, k <= 12 ? 14 : k <= 25 ? 11 : 8);
            for (int t = 0; t < k; t++) {
                for (int p = 0; p < k; p++) {
                    XYTextAnnotation a = new XYTextAnnotation(Integer.toString(counts[t][p]), p, t);
                    a.setFont(font);
                    a.setPaint(zs[t * k + p] > 0.5 ? Color.WHITE : Color.BLACK);
                    plot.addAnnotation(a);
                }
            }
        }
        JFreeChart chart = new JFreeChart("Confusion matrix", JFreeChart.DEFAULT_TITLE_FONT, plot, false);
        NumberAxis legendAxis = new NumberAxis("fraction of the true class");
        legendAxis.setRange(0, 1);
        legendAxis.setTickUnit(new NumberTickUnit(0.1));
        PaintScaleLegend legend = new PaintScaleLegend(scale, legendAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setAxisLocation(AxisLocation.TOP_OR_RIGHT);
        legend.setMargin(new RectangleInsets(10, 10, 10, 10));
        legend.setStripWidth(16);
        chart.addSubtitle(legend);
        chart.setBackgroundPaint(Color.WHITE);
        writePng(png, chart, width, height);
    }

    private static int checkSquare(Path png, int[][] counts) {
        if (counts == null || counts.length == 0) {
            throw new IllegalArgumentException(png + ": empty confusion matrix");
        }
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == null || counts[i].length != counts.length) {
                throw new IllegalArgumentException(png + ": confusion matrix row " + i + " has "
                        + (counts[i] == null ? "no" : counts[i].length) + " entries, expected " + counts.length);
            }
            for (int c : counts[i]) {
                if (c < 0) {
                    throw new IllegalArgumentException(png + ": confusion matrix row " + i + " holds a negative count " + c);
                }
            }
        }
        return counts.length;
    }

    private static NumberAxis classAxis(String label, List<String> names, boolean labelled) {
        NumberAxis axis = labelled ? new SymbolAxis(label, names.toArray(new String[0])) : new NumberAxis(label);
        if (!labelled) {
            axis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        }
        axis.setRange(-0.5, names.size() - 0.5);
        axis.setLowerMargin(0);
        axis.setUpperMargin(0);
        if (axis instanceof SymbolAxis s) {
            s.setGridBandsVisible(false);
        }
        return axis;
    }

    private static PaintScale blues() {
        LookupPaintScale scale = new LookupPaintScale(0, 1.0000001, new Color(0x08306b));
        Color lo = new Color(0xf7fbff);
        Color hi = new Color(0x08306b);
        int steps = 64;
        for (int i = 0; i < steps; i++) {
            double f = (double) i / (steps - 1);
            scale.add(i / (double) steps, new Color(mix(lo.getRed(), hi.getRed(), f), mix(lo.getGreen(), hi.getGreen(), f),
                    mix(lo.getBlue(), hi.getBlue(), f)));
        }
        return scale;
    }

    private static int mix(int a, int b, double f) {
        return (int) Math.round(a + (b - a) * f);
    }

    private static XYSeries series(String name, List<EpochMetrics> epochs, ToDoubleFunction<EpochMetrics> value,
                                   double scale) {
        XYSeries s = new XYSeries(name);
        for (EpochMetrics e : epochs) {
            double v = value.applyAsDouble(e);
            if (Double.isFinite(v)) { // not measured (NaN): left out rather than drawn as 0
                s.add(e.epoch(), v * scale);
            }
        }
        return s;
    }

    private static XYPlot linePlot(XYSeriesCollection data, NumberAxis rangeAxis) {
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < data.getSeriesCount(); i++) {
            r.setSeriesPaint(i, SERIES[i % SERIES.length]);
        }
        XYPlot plot = new XYPlot(data, null, rangeAxis, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return plot;
    }

    /** Writes next to {@code png} and renames, so a viewer never sees a half-written image. */
    private static void writePng(Path png, JFreeChart chart, int width, int height) throws IOException {
        if (width < 100 || height < 100 || width > 10_000 || height > 10_000) {
            throw new IllegalArgumentException(png + ": image size " + width + "x" + height + " outside 100..10000 pixels");
        }
        AtomicFile.write(png, tmp -> {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                ChartUtils.writeChartAsPNG(out, chart, width, height);
            }
        });
    }
}
