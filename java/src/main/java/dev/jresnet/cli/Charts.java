package dev.jresnet.cli;

import dev.jresnet.finetune.FineTuneOptions;
import dev.jresnet.finetune.FineTuneResult;
import dev.jresnet.io.AtomicFile;
import dev.jresnet.train.EpochMetrics;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.annotations.XYTitleAnnotation;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.LookupPaintScale;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Ellipse2D;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The training command's PNG plots, drawn with JFreeChart without a display. Only the CLI uses this class, so
 * JFreeChart stays an optional dependency that never reaches an application embedding the engine.
 */
final class Charts {
    static final int DEFAULT_WIDTH = 1000;
    static final int DEFAULT_HEIGHT = 860;

    private static final Color TRAIN = new Color(0x1f77b4);
    private static final Color VALIDATION = new Color(0xff7f0e);
    private static final Color TOP5 = new Color(0x2ca02c);
    private static final Color LR = new Color(0x6a3d9a);
    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 18);
    private static final Font SUBTITLE = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
    private static final Font AXIS = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
    private static final Font TICKS = new Font(Font.SANS_SERIF, Font.PLAIN, 12);

    static {
        // Drawing needs no display; this keeps a CLI run over SSH or in CI from trying to open one.
        System.setProperty("java.awt.headless", "true");
    }

    private Charts() {}

    /**
     * A fine-tuning run's settings, for the curves' title: {@code model} the output file's name, {@code start} the
     * starting weights (a file name, or the untrained backbone's description), {@code architecture} null when it
     * was taken from the weights (their name says it).
     */
    record Run(String model, String start, String architecture, String unfreeze, String optimizer, float lr,
               String schedule, int warmupEpochs, int batch, int epochs, int imageSize, int classes) {
        static Run of(FineTuneOptions o, FineTuneResult r) {
            String start = r.weights();
            if (r.pretrained() && start != null) { // a path: its name is enough
                start = start.substring(Math.max(start.lastIndexOf('/'), start.lastIndexOf('\\')) + 1);
            }
            return new Run(o.output().getFileName().toString(), start,
                    o.architecture() == null ? null : o.architecture().id(), o.unfreeze().id(), o.optimizer().id(),
                    o.lr(), o.schedule().id(), o.warmupEpochs(), o.batchSize(), o.epochs(), o.imageSize(),
                    r.classes().size());
        }

        String title() {
            return "Fine-tuning " + model;
        }

        /** Under the title, two lines: "from resnet50.safetensors, 5 classes; unfreeze layer4" and the recipe. */
        List<String> settings() {
            boolean named = architecture == null || start.contains(architecture); // "seeded untrained resnet18 ..."
            return List.of(String.format(Locale.ROOT, "from %s%s, %d classes; unfreeze %s", start,
                            named ? "" : " (" + architecture + ")", classes, unfreeze),
                    String.format(Locale.ROOT, "%s, lr %s, %s schedule%s; batch %d; %d epochs; %d px", optimizer,
                            new BigDecimal(Float.toString(lr)).stripTrailingZeros().toPlainString(), schedule,
                            warmupEpochs == 0 ? "" : " after " + warmupEpochs + " warm-up "
                                    + (warmupEpochs == 1 ? "epoch" : "epochs"), batch, epochs, imageSize));
        }
    }

    static void trainingCurves(Path png, List<EpochMetrics> epochs, Run run) throws IOException {
        trainingCurves(png, epochs, run, DEFAULT_WIDTH, DEFAULT_HEIGHT);
    }

    static void trainingCurves(Path png, List<EpochMetrics> epochs, Run run, int width, int height)
            throws IOException {
        checkSize(png, width, height);
        if (epochs == null || epochs.isEmpty()) {
            throw new IllegalArgumentException(png + ": no epochs to plot");
        }
        writePng(png, curves(epochs, run), width, height);
    }

    /**
     * Three panels over the epochs: loss (train, validation), accuracy in % (train top-1, validation top-1, and
     * validation top-5 dashed, drawn last so that it shows where it equals top-1) and the learning rate. A series
     * without a single measured value (NaN: no validation set, top-5 with 5 classes or fewer, the learning rate of
     * an old history) is left out, legend included. {@code run} null: no settings under the title.
     */
    static JFreeChart curves(List<EpochMetrics> epochs, Run run) {
        NumberAxis epochAxis = new NumberAxis("epoch");
        epochAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        epochAxis.setRange(epochs.get(0).epoch() - 0.5, epochs.get(epochs.size() - 1).epoch() + 0.5);
        epochAxis.setLabelFont(AXIS);
        epochAxis.setTickLabelFont(TICKS);
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(epochAxis);
        plot.setGap(16);
        boolean markers = epochs.size() <= 30; // beyond, the dots would merge into a thick line

        plot.add(panel(lossAxis(epochs), markers, RectangleAnchor.TOP_RIGHT,
                new Line(series("train loss", epochs, EpochMetrics::trainLoss, 1), TRAIN, false),
                new Line(series("validation loss", epochs, EpochMetrics::valLoss, 1), VALIDATION, false)), 3);

        NumberAxis accAxis = new NumberAxis("accuracy (%)");
        accAxis.setRange(0, 102); // 100 % inside the frame, not on its edge
        accAxis.setTickUnit(new NumberTickUnit(10));
        plot.add(panel(accAxis, markers, RectangleAnchor.BOTTOM_RIGHT,
                new Line(series("train top-1", epochs, EpochMetrics::trainTop1, 100), TRAIN, false),
                new Line(series("validation top-1", epochs, EpochMetrics::valTop1, 100), VALIDATION, false),
                new Line(series("validation top-5", epochs, EpochMetrics::valTop5, 100), TOP5, true)), 3);

        XYSeries lr = series("learning rate", epochs, EpochMetrics::lr, 1);
        if (!lr.isEmpty()) {
            NumberAxis lrAxis = new NumberAxis("learning rate");
            lrAxis.setAutoRangeIncludesZero(true);
            plot.add(panel(lrAxis, markers, null, new Line(lr, LR, false)), 2);
        }

        JFreeChart chart = new JFreeChart(run == null ? "Training curves" : run.title(), TITLE, plot, false);
        if (run != null) {
            for (String line : run.settings()) {
                TextTitle settings = new TextTitle(line, SUBTITLE);
                settings.setPaint(Color.DARK_GRAY);
                chart.addSubtitle(settings);
            }
        }
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /** Losses spanning more than this factor (an early spike, say) get a log axis, else the spike flattens the rest. */
    static final double LOG_LOSS_SPAN = 30;

    private static ValueAxis lossAxis(List<EpochMetrics> epochs) {
        double min = Double.POSITIVE_INFINITY, max = 0;
        for (EpochMetrics m : epochs) {
            for (double v : new double[] {m.trainLoss(), m.valLoss()}) {
                if (v > 0 && Double.isFinite(v)) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
        }
        if (max > LOG_LOSS_SPAN * min) {
            LogAxis log = new LogAxis("cross-entropy loss (log scale)");
            log.setBase(10);
            log.setStandardTickUnits(NumberAxis.createIntegerTickUnits()); // whole powers: 1, 10, 100, not 10^2 or 31.623
            log.setNumberFormatOverride(new java.text.DecimalFormat("#,##0.###"));
            return log;
        }
        NumberAxis linear = new NumberAxis("cross-entropy loss");
        linear.setAutoRangeIncludesZero(true);
        return linear;
    }

    /** A curve: its points, colour and whether it is dashed. */
    private record Line(XYSeries series, Color colour, boolean dashed) {}

    /** One panel; its legend, when it has more than one curve, inside the corner {@code legendAt}. */
    private static XYPlot panel(ValueAxis rangeAxis, boolean markers, RectangleAnchor legendAt, Line... lines) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, markers);
        for (Line l : lines) {
            if (l.series().isEmpty()) {
                continue;
            }
            int i = data.getSeriesCount();
            data.addSeries(l.series());
            r.setSeriesPaint(i, l.colour());
            r.setSeriesShape(i, new Ellipse2D.Double(-3.5, -3.5, 7, 7));
            if (l.dashed()) {
                r.setSeriesStroke(i, new BasicStroke(2.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f,
                        new float[] {9f, 5f}, 0f));
                r.setSeriesShapesFilled(i, false);
            } else {
                r.setSeriesStroke(i, new BasicStroke(2f));
            }
        }
        rangeAxis.setLabelFont(AXIS);
        rangeAxis.setTickLabelFont(TICKS);
        XYPlot plot = new XYPlot(data, null, rangeAxis, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        if (legendAt != null && data.getSeriesCount() > 1) {
            LegendTitle legend = new LegendTitle(plot);
            legend.setItemFont(TICKS);
            legend.setBackgroundPaint(new Color(255, 255, 255, 220));
            legend.setFrame(new BlockBorder(Color.LIGHT_GRAY));
            legend.setPosition(RectangleEdge.RIGHT); // one item per row
            double x = legendAt == RectangleAnchor.TOP_RIGHT || legendAt == RectangleAnchor.BOTTOM_RIGHT ? 0.99 : 0.01;
            double y = legendAt == RectangleAnchor.TOP_RIGHT || legendAt == RectangleAnchor.TOP_LEFT ? 0.98 : 0.03;
            plot.addAnnotation(new XYTitleAnnotation(x, y, legend, legendAt));
        }
        return plot;
    }

    /** At {@link ConfusionLayout#defaultSize}: about 40 px a class, more where the names need it. */
    static void confusionMatrix(Path png, int[][] counts, List<String> classNames, String model) throws IOException {
        checkSquare(png, counts);
        int[] size = ConfusionLayout.defaultSize(classNames == null ? List.of() : classNames);
        confusionMatrix(png, counts, classNames, model, size[0], size[1]);
    }

    static void confusionMatrix(Path png, int[][] counts, List<String> classNames, String model, int width,
                                int height) throws IOException {
        checkSize(png, width, height);
        writePng(png, confusion(png, counts, classNames, model, width, height), width, height);
    }

    /**
     * A heat map of {@code counts[true][predicted]}, coloured by the fraction of each true class (so rare classes
     * show as clearly as common ones), titled with the model and its top-1 accuracy. Class names and counts are
     * laid out by {@link ConfusionLayout} for a {@code width} x {@code height} image.
     */
    static JFreeChart confusion(Path png, int[][] counts, List<String> classNames, String model, int width,
                                int height) {
        int k = checkSquare(png, counts);
        if (classNames == null || classNames.size() != k) {
            throw new IllegalArgumentException(png + ": " + k + " classes in the confusion matrix but "
                    + (classNames == null ? "no" : classNames.size()) + " class names");
        }
        double[] xs = new double[k * k];
        double[] ys = new double[k * k];
        double[] zs = new double[k * k];
        long total = 0;
        long correct = 0;
        for (int t = 0; t < k; t++) {
            long rowTotal = 0;
            for (int c : counts[t]) {
                rowTotal += c;
            }
            total += rowTotal;
            correct += counts[t][t];
            for (int p = 0; p < k; p++) {
                int i = t * k + p;
                xs[i] = p;
                ys[i] = t;
                zs[i] = rowTotal == 0 ? 0 : (double) counts[t][p] / rowTotal;
            }
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("counts", new double[][] {xs, ys, zs});

        ConfusionLayout layout = ConfusionLayout.of(classNames, counts, width, height);
        NumberAxis xAxis = classAxis("predicted class", layout.shownNames(), layout.labelFont());
        NumberAxis yAxis = classAxis("true class", layout.shownNames(), layout.labelFont());
        yAxis.setInverted(true); // class 0 at the top, as in the text table
        xAxis.setVerticalTickLabels(layout.rotated());
        XYBlockRenderer renderer = new XYBlockRenderer();
        PaintScale scale = blues();
        renderer.setPaintScale(scale);
        XYPlot plot = new XYPlot(data, xAxis, yAxis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        plot.setAxisOffset(RectangleInsets.ZERO_INSETS);
        if (layout.countFont() != null) {
            for (int t = 0; t < k; t++) {
                for (int p = 0; p < k; p++) {
                    if (!layout.writes(counts[t][p], k)) {
                        continue;
                    }
                    XYTextAnnotation a = new XYTextAnnotation(Integer.toString(counts[t][p]), p, t);
                    a.setFont(layout.countFont());
                    a.setPaint(zs[t * k + p] > 0.5 ? Color.WHITE : Color.BLACK);
                    plot.addAnnotation(a);
                }
            }
        }
        String accuracy = total == 0 ? "no images" : String.format(Locale.ROOT, "top-1 %.2f %% of %,d images",
                100.0 * correct / total, total);
        JFreeChart chart = new JFreeChart((model == null ? "Confusion matrix" : model) + ": " + accuracy, TITLE, plot,
                false);
        TextTitle what = new TextTitle(k + " classes; rows: true class, columns: predicted", SUBTITLE);
        what.setPaint(Color.DARK_GRAY);
        chart.addSubtitle(what);
        NumberAxis legendAxis = new NumberAxis("fraction of the true class");
        legendAxis.setRange(0, 1);
        legendAxis.setTickUnit(new NumberTickUnit(0.1));
        legendAxis.setLabelFont(AXIS);
        legendAxis.setTickLabelFont(TICKS);
        PaintScaleLegend legend = new PaintScaleLegend(scale, legendAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setAxisLocation(AxisLocation.TOP_OR_RIGHT);
        legend.setMargin(new RectangleInsets(10, 10, 10, 10));
        legend.setStripWidth(16);
        chart.addSubtitle(legend);
        if (layout.step() > 1 || layout.countFont() == null) {
            TextTitle note = new TextTitle((layout.step() > 1 ? "every " + ordinal(layout.step()) + " class named"
                    : "") + (layout.step() > 1 && layout.countFont() == null ? "; " : "")
                    + (layout.countFont() == null ? "counts in the text and JSON output" : ""), TICKS);
            note.setPaint(Color.DARK_GRAY);
            note.setPosition(RectangleEdge.BOTTOM);
            chart.addSubtitle(note);
        }
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static String ordinal(int n) {
        return n == 2 ? "2nd" : n == 3 ? "3rd" : n + "th";
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

    private static NumberAxis classAxis(String label, List<String> names, Font font) {
        SymbolAxis axis = new SymbolAxis(label, names.toArray(new String[0]));
        axis.setRange(-0.5, names.size() - 0.5);
        axis.setLowerMargin(0);
        axis.setUpperMargin(0);
        axis.setGridBandsVisible(false);
        axis.setLabelFont(AXIS);
        axis.setTickLabelFont(font);
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

    private static void checkSize(Path png, int width, int height) {
        if (width < 100 || height < 100 || width > 10_000 || height > 10_000) {
            throw new IllegalArgumentException(png + ": image size " + width + "x" + height + " outside 100..10000 pixels");
        }
    }

    /** Writes next to {@code png} and renames, so a viewer never sees a half-written image. */
    private static void writePng(Path png, JFreeChart chart, int width, int height) throws IOException {
        AtomicFile.write(png, tmp -> {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                ChartUtils.writeChartAsPNG(out, chart, width, height);
            }
        });
    }
}
