package dev.jresnet.bench;

import dev.jresnet.io.AtomicFile;
import dev.jresnet.io.FileChecks;
import dev.jresnet.resnet.ResNet;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.CombinedDomainCategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.BoxAndWhiskerRenderer;
import org.jfree.chart.renderer.category.CategoryItemRendererState;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.category.CategoryDataset;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.statistics.BoxAndWhiskerCategoryDataset;
import org.jfree.data.statistics.DefaultBoxAndWhiskerCategoryDataset;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** {@code --report DIR}: summary.md (tables, machine, date, command) and PNG charts, ready to paste into a README. */
final class Report {
    static final String SUMMARY = "summary.md";
    static final String THROUGHPUT = "throughput.png";
    static final String LATENCY = "latency.png";
    static final String LAYERS = "layers.png";
    static final String LAYERS_JSON = "layers.json";
    static final String PROFILE = "profile.png";
    /** The profile's classes beside a peer's (--layers --compare onnxruntime). */
    static final String PROFILE_PEER = "profile-vs-peer.png";
    private static final int WIDTH = 900;
    private static final int HEIGHT = 560;
    /** One colour per engine, the same in every chart: jresnet, onnxruntime, pytorch, then kernels. */
    /** Matplotlib's tab10: enough for the profile's 8 classes of step, so no two classes share a colour. */
    static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
            new Color(0xbcbd22), new Color(0x17becf)};

    static {
        // Charts are drawn without a display (SSH, CI): never let AWT look for one.
        System.setProperty("java.awt.headless", "true");
    }

    private Report() {}

    /** Writes the whole-model report and returns the files written. */
    static List<Path> write(Path dir, Results.ModelRun run) throws IOException {
        Files.createDirectories(dir);
        List<Path> files = new ArrayList<>();
        files.add(throughputChart(dir.resolve(THROUGHPUT), run));
        files.add(latencyChart(dir.resolve(LATENCY), run));
        StringBuilder md = new StringBuilder("# jresnet bench: " + run.info().network() + " inference\n\n");
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
                ? "# jresnet bench --layers --device cuda: " + run.info().network()
                        + "'s convolutions on every cuDNN forward algorithm\n\n"
                : "# jresnet bench --layers: " + run.info().network() + "'s convolutions\n\n");
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
            if (run.profile() != null) {
                files.add(profileChart(dir.resolve(PROFILE), run));
                Results.Profile p = run.profile();
                md.append("## The engine's forward pass, step by step\n\n")
                        .append(EngineProfile.headline(p)).append(". Each step of `").append(p.engine())
                        .append("` (fused convolution ")
                        .append("with batch norm, residual and ReLU; max-pool; avg-pool; fc) timed inside real passes; ")
                        .append("share = the step's mean over the mean forward pass.\n\n");
                if (p.hasWarm()) {
                    md.append("warm ms: the same step run again right after itself on the same operands, alone and ")
                            .append("warm (its inputs, weights and output just touched), the median of ")
                            .append(EngineProfile.WARM_REPEATS).append(" runs, in an untimed pass after every ")
                            .append(EngineProfile.WARM_EVERY).append(" timed ones; pass/warm = its median in the ")
                            .append("passes over that (a class: the sums of its steps' medians). How much of a step's ")
                            .append("time in the pass goes to fetching what the steps before evicted, rather than ")
                            .append("to its kernel.\n\n");
                }
                if (p.peer() != null) {
                    md.append("Beside it, ").append(p.peer().detail()).append(": one run after each profiled pass, ")
                            .append("its profiler's node times matched to the steps by name (it fuses a convolution ")
                            .append("with its batch norm, residual and ReLU as the engine does); \"other nodes\" are ")
                            .append("its nodes that match no step (layout reorders, flatten). jresnet/")
                            .append(p.peer().name()).append(" above 1: jresnet faster.\n\n");
                }
                md.append(Output.profileGroups(p).markdown()).append('\n');
                if (p.peer() != null) {
                    files.add(profilePeerChart(dir.resolve(PROFILE_PEER), run));
                    md.append("![ms per class, jresnet and ").append(p.peer().name()).append("](")
                            .append(PROFILE_PEER).append(")\n\n");
                }
                md.append("![ms per step](").append(PROFILE).append(")\n\n");
                md.append(Output.profileSteps(p).markdown()).append('\n');
                md.append("## Each convolution shape on each kernel (unfused, CpuOps.conv2d)\n\n");
            }
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

    static Path throughputChart(Path png, Results.ModelRun run) throws IOException {
        return save(png, throughput(run), WIDTH, HEIGHT);
    }

    /** Bars of images/s, one group per batch size, one colour per engine. */
    static JFreeChart throughput(Results.ModelRun run) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Results.BatchResult b : run.batches()) {
            for (Results.EngineResult e : b.engines()) {
                data.addValue(e.imagesPerSecond(), e.engine(), "batch " + b.batch());
            }
        }
        JFreeChart chart = ChartFactory.createBarChart(run.info().network() + " throughput (higher is better)",
                "batch size", "images/s", data, PlotOrientation.VERTICAL, true, false, false);
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
        subtitle(chart, run.info(), run.peers());
        return chart;
    }

    static Path latencyChart(Path png, Results.ModelRun run) throws IOException {
        return save(png, latency(run), WIDTH, HEIGHT);
    }

    /**
     * One panel per batch size, side by side, each with its own millisecond axis from 0: batch sizes far apart put
     * latencies orders of magnitude apart, and a shared axis (or a log one) would squash the small batches or
     * exaggerate the differences between engines. Engines are the rows, in the throughput chart's colours.
     */
    static JFreeChart latency(Results.ModelRun run) {
        CombinedDomainCategoryPlot plot = new CombinedDomainCategoryPlot(new CategoryAxis(null));
        plot.setOrientation(PlotOrientation.HORIZONTAL);
        plot.setGap(36);
        List<String> engines = new ArrayList<>();
        for (Results.BatchResult b : run.batches()) {
            for (Results.EngineResult e : b.engines()) {
                if (!engines.contains(e.engine())) {
                    engines.add(e.engine());
                }
            }
        }
        for (Results.BatchResult b : run.batches()) {
            DefaultBoxAndWhiskerCategoryDataset data = new DefaultBoxAndWhiskerCategoryDataset();
            double slowest = 0;
            for (String engine : engines) {
                List<Double> ms = new ArrayList<>();
                b.engines().stream().filter(e -> e.engine().equals(engine)).findFirst()
                        .ifPresent(e -> Arrays.stream(e.latency().sorted()).forEach(s -> ms.add(s * 1e3)));
                data.add(ms, "latency", engine); // an engine missing at this batch size: an empty row
                slowest = Math.max(slowest, ms.stream().mapToDouble(Double::doubleValue).max().orElse(0));
            }
            NumberAxis axis = new NumberAxis("batch " + b.batch() + ": ms per batch");
            // From 0 to past the slowest run: the dataset's own range stops at the whiskers, cutting off outliers.
            axis.setRange(0, slowest > 0 ? slowest * 1.08 : 1);
            CategoryPlot sub = new CategoryPlot(data, null, axis, boxRenderer(engines));
            sub.setOrientation(PlotOrientation.HORIZONTAL);
            plot.add(sub, 1);
        }
        JFreeChart chart = new JFreeChart(run.info().network() + " latency per batch (lower is better)",
                new Font(Font.SANS_SERIF, Font.BOLD, 18), plot, false);
        style(chart, plot);
        for (Object sub : plot.getSubplots()) {
            style(chart, (CategoryPlot) sub);
        }
        subtitle(chart, run.info(), run.peers());
        TextTitle key = new TextTitle("box = quartiles, line = median, whiskers = range within 1.5 IQR, "
                + "circles = runs beyond", new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        key.setPaint(Color.DARK_GRAY);
        key.setPosition(RectangleEdge.BOTTOM);
        chart.addSubtitle(key);
        return chart;
    }

    /** Boxes coloured by engine (the row's category), not by series: each panel holds a single series. */
    private static BoxAndWhiskerRenderer boxRenderer(List<String> engines) {
        BoxAndWhiskerRenderer r = new BoxAndWhiskerRenderer() {
            @Override
            public java.awt.Paint getItemPaint(int row, int column) {
                return COLORS[column % COLORS.length];
            }

            /** The box, then the runs beyond the whiskers: JFreeChart 1.5 draws those only on vertical plots. */
            @Override
            public void drawHorizontalItem(Graphics2D g2, CategoryItemRendererState state, Rectangle2D dataArea,
                                           CategoryPlot plot, CategoryAxis domainAxis, ValueAxis rangeAxis,
                                           CategoryDataset dataset, int row, int column) {
                super.drawHorizontalItem(g2, state, dataArea, plot, domainAxis, rangeAxis, dataset, row, column);
                double y = domainAxis.getCategoryMiddle(column, getColumnCount(), dataArea, plot.getDomainAxisEdge());
                double radius = Math.min(4.5, state.getBarWidth() / 4);
                g2.setPaint(getItemPaint(row, column));
                g2.setStroke(new BasicStroke(1.5f));
                for (double ms : beyondWhiskers((BoxAndWhiskerCategoryDataset) dataset, row, column)) {
                    double x = rangeAxis.valueToJava2D(ms, dataArea, plot.getRangeAxisEdge());
                    g2.draw(new Ellipse2D.Double(x - radius, y - radius, 2 * radius, 2 * radius));
                }
            }
        };
        r.setMeanVisible(false); // JFreeChart draws the mean as a disc as wide as the box, hiding it
        r.setMedianVisible(true);
        r.setFillBox(true);
        r.setMaxOutlierVisible(true);
        r.setMinOutlierVisible(true);
        r.setMaximumBarWidth(0.3);
        r.setUseOutlinePaintForWhiskers(false);
        r.setDefaultOutlinePaint(Color.BLACK);
        return r;
    }

    /** The values of a box-and-whisker item outside its whiskers (beyond 1.5 IQR of the quartiles). */
    static List<Double> beyondWhiskers(BoxAndWhiskerCategoryDataset data, int row, int column) {
        List<?> outliers = data.getOutliers(row, column);
        Number lo = data.getMinRegularValue(row, column), hi = data.getMaxRegularValue(row, column);
        List<Double> beyond = new ArrayList<>();
        if (outliers != null && lo != null && hi != null) {
            for (Object o : outliers) {
                double v = ((Number) o).doubleValue();
                if (v < lo.doubleValue() || v > hi.doubleValue()) {
                    beyond.add(v);
                }
            }
        }
        return beyond;
    }

    static Path layerChart(Path png, Results.LayerRun run) throws IOException {
        JFreeChart chart = layers(run);
        int height = Math.max(HEIGHT, 160 + 34 * chart.getCategoryPlot().getDataset().getColumnCount());
        return save(png, chart, WIDTH + 200, height);
    }

    /** GFLOP/s of every CPU kernel on every convolution shape, one bar group per shape. */
    static JFreeChart layers(Results.LayerRun run) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Results.LayerResult r : run.rows()) {
            data.addValue(r.gflops(), r.kernel() + (r.inUse() ? " (in use)" : ""), r.shape().label());
        }
        String title = "Convolutions of " + run.info().network() + ", batch " + run.batch() + " (higher is better)";
        JFreeChart chart = ChartFactory.createBarChart(title, null, "GFLOP/s", data, PlotOrientation.HORIZONTAL, true,
                false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        flatBars(plot, data.getRowCount());
        plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.STANDARD);
        style(chart, plot);
        plot.getDomainAxis().setTickLabelFont(new Font(Font.MONOSPACED, Font.PLAIN, 12));
        // What is timed here is the GEMM kernels on im2col, not the engine's device (direct convolution, Winograd)
        for (String line : subtitleLines(run.info(), List.of(), LAB_KERNELS)) {
            addSubtitle(chart, line);
        }
        return chart;
    }

    /** The CPU kernel lab's subject, in its chart's subtitle instead of the engine's device. */
    static final String LAB_KERNELS = "cpu (unfused CpuOps.conv2d: im2col + each GEMM kernel)";

    static Path profileChart(Path png, Results.LayerRun run) throws IOException {
        JFreeChart chart = profile(run);
        int height = Math.max(HEIGHT, 160 + 16 * chart.getCategoryPlot().getDataset().getColumnCount());
        return save(png, chart, WIDTH + 200, height);
    }

    /** ms of every step of the engine's forward pass, in order, coloured by class. */
    static JFreeChart profile(Results.LayerRun run) {
        Results.Profile p = run.profile();
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Results.StepTime s : p.steps()) {
            // one series per class, so each bar is coloured by its class; a stacked chart keeps one bar per step
            for (Results.GroupTime g : p.groups()) {
                data.addValue(g.group().equals(s.group()) ? s.latency().mean() * 1e3 : 0, g.group(),
                        s.index() + " " + s.name());
            }
        }
        JFreeChart chart = ChartFactory.createStackedBarChart(String.format(java.util.Locale.ROOT,
                        "The engine's forward pass, batch %d: %.1f ms (mean) by step", p.batch(),
                        p.forward().mean() * 1e3), null, "ms (mean)", data, PlotOrientation.HORIZONTAL, true, false,
                false);
        CategoryPlot plot = chart.getCategoryPlot();
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        colour(r, data.getRowCount());
        style(chart, plot);
        plot.getDomainAxis().setTickLabelFont(new Font(Font.MONOSPACED, Font.PLAIN, 10));
        subtitle(chart, run.info(), List.of());
        return chart;
    }

    static Path profilePeerChart(Path png, Results.LayerRun run) throws IOException {
        return save(png, profilePeer(run), WIDTH, HEIGHT);
    }

    /** The third bar of a class in the peer chart: the engine's steps alone and warm. */
    static final String WARM_SERIES = "jresnet, each step alone and warm (medians)";

    /**
     * Mean ms per class of step, the engine's and the peer's side by side (--layers --compare onnxruntime), and the
     * engine's steps alone and warm where they were timed so.
     */
    static JFreeChart profilePeer(Results.LayerRun run) {
        Results.Profile p = run.profile();
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Results.GroupTime g : p.groups()) {
            data.addValue(g.seconds() * 1e3, "jresnet", g.group());
            data.addValue(p.peerSeconds(g.group()) * 1e3, p.peer().name(), g.group());
            if (p.hasWarm()) {
                data.addValue(p.medianSeconds(g.group(), true) * 1e3, WARM_SERIES, g.group());
            }
        }
        JFreeChart chart = ChartFactory.createBarChart(String.format(java.util.Locale.ROOT,
                        "Forward pass by class of step, batch %d: jresnet %.1f ms, %s %.1f ms (medians; shorter is "
                                + "faster)", p.batch(), p.forward().median() * 1e3, p.peer().name(),
                        p.peer().forward().median() * 1e3), null, "ms per pass (mean)", data,
                PlotOrientation.HORIZONTAL, true, false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        flatBars(plot, data.getRowCount());
        style(chart, plot);
        subtitle(chart, run.info(), List.of(new Results.PeerStatus(p.peer().name(), true, p.peer().detail(),
                p.peer().threads())));
        return chart;
    }

    static Path gpuLayerChart(Path png, Results.LayerRun run) throws IOException {
        JFreeChart chart = gpuLayers(run);
        int height = Math.max(HEIGHT, 160 + 34 * Math.max(1, chart.getCategoryPlot().getDataset().getColumnCount()));
        return save(png, chart, WIDTH + 200, height);
    }

    /** TFLOP/s of the engine's pick on each shape, one series per precision (a pick that was not timed: no bar). */
    static JFreeChart gpuLayers(Results.LayerRun run) {
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
        flatBars(plot, byPrecision.getRowCount());
        plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.STANDARD);
        style(chart, plot);
        plot.getDomainAxis().setTickLabelFont(new Font(Font.MONOSPACED, Font.PLAIN, 12));
        subtitle(chart, run.info(), List.of());
        return chart;
    }

    /**
     * Under the title, what a reader needs to compare two charts: the machine, jresnet's version, device,
     * precision and threads, each peer's threads, the date. Added first, so it sits right below the title.
     */
    static void subtitle(JFreeChart chart, Results.RunInfo i, List<Results.PeerStatus> peers) {
        for (String line : subtitleLines(i, peers)) {
            addSubtitle(chart, line);
        }
    }

    private static void addSubtitle(JFreeChart chart, String line) {
        TextTitle t = new TextTitle(line, new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        t.setPaint(Color.DARK_GRAY);
        t.setPosition(RectangleEdge.TOP);
        chart.addSubtitle(t);
    }

    static List<String> subtitleLines(Results.RunInfo i, List<Results.PeerStatus> peers) {
        return subtitleLines(i, peers, null);
    }

    /** As {@link #subtitleLines(Results.RunInfo, List)}, naming {@code device} (when not null) as what ran. */
    static List<String> subtitleLines(Results.RunInfo i, List<Results.PeerStatus> peers, String device) {
        MachineInfo m = i.machine();
        // On the CPU the kernel is what differs between machines (the direct convolution's tile, else the GEMM's);
        // on a GPU the detail names the GPU.
        java.util.regex.Matcher direct = java.util.regex.Pattern.compile("direct convolution, .*tile (\\d+x\\d+)")
                .matcher(i.deviceDetail() == null ? "" : i.deviceDetail());
        java.util.regex.Matcher onednn = java.util.regex.Pattern.compile("CPU engine (oneDNN [0-9.]+), ([a-z0-9_]+) kernels")
                .matcher(i.deviceDetail() == null ? "" : i.deviceDetail());
        device = device != null ? device : !i.device().equals("cpu") ? i.deviceDetail()
                : onednn.find() ? "cpu (" + onednn.group(1) + ", " + onednn.group(2) + ")"
                : direct.find() ? "cpu (direct convolution, tile " + direct.group(1)
                        + (i.deviceDetail().contains("Winograd") ? ", Winograd F(2x2,3x3)" : "")
                        + (i.deviceDetail().contains("tap by tap") ? ", 3x3 by taps" : "") + ")"
                : "cpu (kernel " + i.cpuKernel() + ")";
        StringBuilder engines = new StringBuilder(Output.f("jresnet %s on %s, %s, %d threads", version(), device,
                i.precision(), i.jresnetThreads()));
        for (Results.PeerStatus p : peers) {
            if (p.available()) {
                engines.append(Output.f("; %s %d threads", p.name(), p.threads()));
            }
        }
        return List.of(engines.toString(),
                Output.f("%s, %d cores, load average %s at start; %s; %s", m.cpuModel(), m.cores(),
                        m.loadAverage().split(" ")[0], m.date(), i.weights()));
    }

    /** The engine jar's version, "development build" when run from classes (tests, an IDE). */
    static String version() {
        String v = ResNet.class.getPackage().getImplementationVersion();
        return v != null ? v : "development build";
    }

    /** Flat bars of one colour per series, a category's bars touching (the bar charts' look). */
    private static void flatBars(CategoryPlot plot, int series) {
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setItemMargin(0.0);
        colour(r, series);
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
        // Values along the bottom, as a reader expects, also where the bars or boxes run horizontally.
        plot.setRangeAxisLocation(AxisLocation.BOTTOM_OR_LEFT);
        Font tick = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
        Font label = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
        if (plot.getRangeAxis() != null) { // a combined plot's axes are its subplots'
            plot.getRangeAxis().setTickLabelFont(tick);
            plot.getRangeAxis().setLabelFont(label);
        }
        if (plot.getDomainAxis() != null) {
            plot.getDomainAxis().setLabelFont(label);
            plot.getDomainAxis().setTickLabelFont(tick);
        }
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
