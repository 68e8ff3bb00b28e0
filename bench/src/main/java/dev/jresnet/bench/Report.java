package dev.jresnet.bench;

import dev.jresnet.io.AtomicFile;
import dev.jresnet.io.FileChecks;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.BoxAndWhiskerRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.statistics.DefaultBoxAndWhiskerCategoryDataset;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.List;

/** {@code --report DIR}: summary.md (tables, machine, date, command) and PNG charts, ready to paste into a README. */
final class Report {
    static final String SUMMARY = "summary.md";
    static final String THROUGHPUT = "throughput.png";
    static final String LATENCY = "latency.png";
    static final String LAYERS = "layers.png";
    static final String LAYERS_JSON = "layers.json";
    private static final int WIDTH = 900;
    private static final int HEIGHT = 560;
    /** One colour per engine, the same in every chart: jresnet, onnxruntime, pytorch, then kernels. */
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728), new Color(0x9467bd)};

    static {
        // Charts are drawn without a display (SSH, CI): never let AWT look for one.
        System.setProperty("java.awt.headless", "true");
    }

    private Report() {}

    /** Writes the whole-model report and returns the files written. */
    static List<Path> write(Path dir, Results.ModelRun run) throws IOException {
        Files.createDirectories(dir);
        List<Path> files = new ArrayList<>();
        files.add(throughputChart(dir.resolve(THROUGHPUT), run.batches()));
        files.add(latencyChart(dir.resolve(LATENCY), run.batches()));
        StringBuilder md = new StringBuilder("# jresnet bench: ResNet-50 inference\n\n");
        for (String l : Output.header(run.info(), run.peers())) {
            md.append("- ").append(markdownLine(l)).append('\n');
        }
        md.append("\nLatency is per batch, in ms; percentiles by ").append(Statistics.PERCENTILE_METHOD)
                .append(". images/s = batch / mean latency; GFLOP/s = images/s x FLOPs per image. ")
                .append("jresnet/peer > 1 means jresnet is faster; rel L2 = ||jresnet - peer|| / ||peer|| on the ")
                .append("logits of the same input.\n\n");
        md.append(Output.modelTable(run.batches()).markdown()).append('\n');
        md.append("![images/s by batch size](").append(THROUGHPUT).append(")\n\n");
        md.append("![latency distribution](").append(LATENCY).append(")\n");
        files.add(writeString(dir.resolve(SUMMARY), md.toString()));
        return files;
    }

    /** Writes the kernel lab's report (summary.md, layers.png, layers.json) and returns the files written. */
    static List<Path> write(Path dir, Results.LayerRun run) throws IOException {
        Files.createDirectories(dir);
        List<Path> files = new ArrayList<>();
        files.add(run.gpu() ? gpuLayerChart(dir.resolve(LAYERS), run) : layerChart(dir.resolve(LAYERS), run));
        StringBuilder md = new StringBuilder(run.gpu()
                ? "# jresnet bench --layers --device cuda: ResNet-50's convolutions on every cuDNN forward algorithm\n\n"
                : "# jresnet bench --layers: ResNet-50's convolutions\n\n");
        for (String l : Output.labHeader(run)) {
            md.append("- ").append(markdownLine(l)).append('\n');
        }
        md.append("- batch: ").append(run.batch()).append("\n\n");
        if (run.gpu()) {
            md.append("## Summary\n\n```\n");
            for (String l : Output.gpuSummary(run.rows())) {
                md.append(l).append('\n');
            }
            md.append("```\n\n## Every algorithm\n\n");
            md.append("One row per distinct convolution shape, precision and cuDNN forward algorithm; `*` marks the ")
                    .append("engine's pick. Times are medians of CUDA-event timings; TFLOP/s = FLOPs of the batch / ")
                    .append("median. Algorithms that are unsupported or fail the check are not timed.\n\n");
            md.append(Output.gpuLayerTable(run.rows()).markdown()).append('\n');
            md.append("![TFLOP/s of the engine's pick per shape](").append(LAYERS).append(")\n");
        } else {
            md.append("One row per distinct convolution shape and kernel; `*` marks the kernel the engine uses. ")
                    .append("max rel err = max |out - reference| / max |reference|, the reference being the plain kernel.\n\n");
            md.append(Output.layerTable(run.rows()).markdown()).append('\n');
            md.append("![GFLOP/s per shape](").append(LAYERS).append(")\n");
        }
        files.add(writeString(dir.resolve(SUMMARY), md.toString()));
        files.add(writeString(dir.resolve(LAYERS_JSON), Output.json(run) + "\n"));
        return files;
    }

    /** "key:   value" becomes "**key:** value". */
    private static String markdownLine(String l) {
        int colon = l.indexOf(':');
        if (colon < 0) {
            return l;
        }
        String key = l.substring(0, colon), value = l.substring(colon + 1).strip();
        // A command line may hold | or * that Markdown would take for table or emphasis syntax.
        return "**" + key + ":** " + (key.equals("command") ? "`" + value + "`" : value);
    }

    private static Path writeString(Path p, String s) throws IOException {
        AtomicFile.write(p, tmp -> Files.writeString(tmp, s, StandardCharsets.UTF_8));
        return p;
    }

    /**
     * Refuses, before the benchmark runs, a report folder where a report file (DIR/NAME, or DIR/batchN/NAME with
     * several batch sizes) would replace {@code input}, the weights being timed.
     */
    static void requireNotAnInput(Path dir, Path input) throws IOException {
        if (dir == null || input == null || input.getFileName() == null
                || !List.of(SUMMARY, THROUGHPUT, LATENCY, LAYERS, LAYERS_JSON).contains(input.getFileName().toString())) {
            return;
        }
        String name = input.getFileName().toString();
        FileChecks.requireNotAnInput(dir.resolve(name), "--report file", input);
        Path parent = input.toAbsolutePath().getParent();
        if (parent != null && parent.getFileName() != null && parent.getFileName().toString().matches("batch[0-9]+")) {
            FileChecks.requireNotAnInput(dir.resolve(parent.getFileName()).resolve(name), "--report file", input);
        }
    }

    static Path throughputChart(Path png, List<Results.BatchResult> batches) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Results.BatchResult b : batches) {
            for (Results.EngineResult e : b.engines()) {
                data.addValue(e.imagesPerSecond(), e.engine(), "batch " + b.batch());
            }
        }
        JFreeChart chart = ChartFactory.createBarChart("ResNet-50 throughput (higher is better)", "batch size",
                "images/s", data, PlotOrientation.VERTICAL, true, false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setItemMargin(0.05);
        r.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat("0.00")));
        r.setDefaultItemLabelsVisible(true);
        r.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        colour(r, data.getRowCount());
        ((NumberAxis) plot.getRangeAxis()).setUpperMargin(0.12); // room for the value labels
        style(chart, plot);
        return save(png, chart, WIDTH, HEIGHT);
    }

    static Path latencyChart(Path png, List<Results.BatchResult> batches) throws IOException {
        DefaultBoxAndWhiskerCategoryDataset data = new DefaultBoxAndWhiskerCategoryDataset();
        double lo = Double.MAX_VALUE, hi = 0;
        for (Results.BatchResult b : batches) {
            for (Results.EngineResult e : b.engines()) {
                List<Double> ms = new ArrayList<>();
                for (double s : e.latency().sorted()) {
                    ms.add(s * 1e3);
                }
                lo = Math.min(lo, e.latency().min() * 1e3);
                hi = Math.max(hi, e.latency().max() * 1e3);
                data.add(ms, e.engine(), "batch " + b.batch());
            }
        }
        BoxAndWhiskerRenderer r = new BoxAndWhiskerRenderer();
        r.setMeanVisible(false); // JFreeChart draws the mean as a disc as wide as the box, hiding it
        r.setMedianVisible(true);
        r.setFillBox(true);
        r.setMaxOutlierVisible(true);
        r.setMinOutlierVisible(true);
        r.setItemMargin(0.1);
        r.setMaximumBarWidth(0.08);
        colour(r, data.getRowCount());
        // Batch sizes far apart put latencies orders of magnitude apart: a log axis keeps every box visible.
        ValueAxis axis;
        if (hi / lo > 20) {
            LogAxis log = new LogAxis("latency per batch (ms, log scale)");
            log.setSmallestValue(lo / 2);
            axis = log;
        } else {
            NumberAxis lin = new NumberAxis("latency per batch (ms)");
            lin.setAutoRangeIncludesZero(false);
            axis = lin;
        }
        CategoryPlot plot = new CategoryPlot(data, new CategoryAxis("batch size"), axis, r);
        JFreeChart chart = new JFreeChart("Latency per batch: box = quartiles, line = median, whiskers = range within 1.5 IQR",
                new Font(Font.SANS_SERIF, Font.BOLD, 16), plot, true);
        style(chart, plot);
        return save(png, chart, WIDTH, HEIGHT);
    }

    static Path layerChart(Path png, Results.LayerRun run) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Results.LayerResult r : run.rows()) {
            data.addValue(r.gflops(), r.kernel() + (r.inUse() ? " (in use)" : ""), r.shape().label());
        }
        JFreeChart chart = ChartFactory.createBarChart("Convolutions of ResNet-50, batch " + run.batch()
                + " (higher is better)", null, "GFLOP/s", data, PlotOrientation.HORIZONTAL, true, false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setItemMargin(0.0);
        colour(r, data.getRowCount());
        plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.STANDARD);
        style(chart, plot);
        plot.getDomainAxis().setTickLabelFont(new Font(Font.MONOSPACED, Font.PLAIN, 12));
        int height = Math.max(HEIGHT, 120 + 34 * data.getColumnCount());
        return save(png, chart, WIDTH + 200, height);
    }

    /** TFLOP/s of the engine's pick on each shape, one series per precision (a pick that was not timed: no bar). */
    static Path gpuLayerChart(Path png, Results.LayerRun run) throws IOException {
        // One series per precision, whatever the algorithm picked.
        DefaultCategoryDataset byPrecision = new DefaultCategoryDataset();
        for (Results.LayerResult r : run.rows()) {
            if (r.inUse() && r.timed()) {
                byPrecision.addValue(r.gflops() / 1e3, r.precision(), r.shape().label());
            }
        }
        JFreeChart chart = ChartFactory.createBarChart("Engine's cuDNN pick per convolution shape, batch " + run.batch()
                + " (higher is better)", null, "TFLOP/s", byPrecision, PlotOrientation.HORIZONTAL, true, false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setItemMargin(0.0);
        colour(r, byPrecision.getRowCount());
        plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.STANDARD);
        style(chart, plot);
        plot.getDomainAxis().setTickLabelFont(new Font(Font.MONOSPACED, Font.PLAIN, 12));
        int height = Math.max(HEIGHT, 120 + 34 * Math.max(1, byPrecision.getColumnCount()));
        return save(png, chart, WIDTH + 200, height);
    }

    private static void colour(org.jfree.chart.renderer.category.AbstractCategoryItemRenderer r, int series) {
        for (int i = 0; i < series; i++) {
            r.setSeriesPaint(i, COLORS[i % COLORS.length]);
        }
    }

    private static void style(JFreeChart chart, CategoryPlot plot) {
        chart.setBackgroundPaint(Color.WHITE);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(new Color(0xcccccc));
        plot.setRangeGridlinesVisible(true);
        plot.setOutlineVisible(false);
        Font tick = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
        Font label = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
        plot.getRangeAxis().setTickLabelFont(tick);
        plot.getRangeAxis().setLabelFont(label);
        plot.getDomainAxis().setLabelFont(label);
        plot.getDomainAxis().setTickLabelFont(tick);
        if (chart.getLegend() != null) {
            chart.getLegend().setItemFont(label);
        }
    }

    private static Path save(Path png, JFreeChart chart, int w, int h) throws IOException {
        AtomicFile.write(png, tmp -> {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                ChartUtils.writeChartAsPNG(out, chart, w, h);
            }
        });
        return png;
    }
}
