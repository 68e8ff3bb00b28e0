package dev.jresnet.bench;

import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.graph.Architecture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Report files from known results, and the kernel lab's shapes and checks (on small shapes: no timing claims). */
class ReportAndLabTest {
    private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G'};

    static Results.RunInfo info() {
        return new Results.RunInfo("jresnet bench --batch 1,8", MachineInfo.current(), "cpu", "cpu (test)", "fp32",
                "plain", 2, "seeded untrained (seed 0)", false, 10, 3, 224, 8_178_000_000L, "ResNet-50");
    }

    static Results.EngineResult engine(String name, int batch, double... seconds) {
        Statistics s = Statistics.of(seconds);
        return new Results.EngineResult(name, batch, s, batch / s.mean(), batch / s.mean() * 8.178, OptionalDouble.empty());
    }

    @Test
    void theSubtitleNamesOneDnnOrTheDirectConvolutionsTileWhereItRuns() {
        Results.RunInfo direct = new Results.RunInfo("jresnet bench", MachineInfo.current(), "cpu",
                "cpu (requested; CPU kernel vector-512bit-8x48, direct convolution, 16-channel blocks, tile 4x7)", "fp32",
                "vector-512bit-8x48", 2, "seeded untrained (seed 0)", false, 10, 3, 224, 8_178_000_000L, "ResNet-50");
        String first = Report.subtitleLines(direct, java.util.List.of()).get(0);
        org.junit.jupiter.api.Assertions.assertTrue(first.contains("on cpu (direct convolution, tile 4x7), fp32"), first);
        Results.RunInfo winograd = new Results.RunInfo("jresnet bench", MachineInfo.current(), "cpu",
                "cpu (auto; CPU kernel vector-512bit-8x48, direct convolution, 16-channel blocks, tile 4x7, Winograd"
                        + " F(2x2,3x3) on 3x3 stride 1 up to 256 channels)", "fp32",
                "vector-512bit-8x48", 2, "seeded untrained (seed 0)", false, 10, 3, 224, 8_178_000_000L, "ResNet-50");
        first = Report.subtitleLines(winograd, java.util.List.of()).get(0);
        org.junit.jupiter.api.Assertions.assertTrue(
                first.contains("on cpu (direct convolution, tile 4x7, Winograd F(2x2,3x3)), fp32"), first);
        Results.RunInfo taps = new Results.RunInfo("jresnet bench", MachineInfo.current(), "cpu",
                "cpu (auto; CPU kernel vector-512bit-8x48, " + dev.jresnet.graph.CpuConvolution.winograd().describe()
                        + ")", "fp32", "vector-512bit-8x48", 2, "seeded untrained (seed 0)", false, 10, 3, 224,
                8_178_000_000L, "ResNet-50");
        first = Report.subtitleLines(taps, java.util.List.of()).get(0);
        org.junit.jupiter.api.Assertions.assertTrue(first.contains("on cpu (direct convolution, tile "
                + dev.jresnet.cpu.DirectConv.defaultTile() + ", Winograd F(2x2,3x3), 3x3 by taps), fp32"), first);
        first = Report.subtitleLines(info(), java.util.List.of()).get(0);
        org.junit.jupiter.api.Assertions.assertTrue(first.contains("on cpu (kernel plain), fp32"), first);
        Results.RunInfo onednn = new Results.RunInfo("jresnet bench", MachineInfo.current(), "cpu",
                "cpu (requested; CPU engine oneDNN 3.11.0, avx512_core_bf16 kernels, 2 OpenMP threads (auto: oneDNN "
                        + "loads; jresnet.cpu.engine=java for jresnet's Java kernels))", "fp32", "vector-512bit-8x48", 2,
                "seeded untrained (seed 0)", false, 10, 3, 224, 8_178_000_000L, "ResNet-50");
        first = Report.subtitleLines(onednn, java.util.List.of()).get(0);
        org.junit.jupiter.api.Assertions.assertTrue(first.contains("on cpu (oneDNN 3.11.0, avx512_core_bf16), fp32"),
                first);
    }

    @Test
    void modelReportWritesSummaryAndCharts(@TempDir Path tmp) throws Exception {
        List<Results.BatchResult> batches = List.of(
                new Results.BatchResult(1, List.of(engine("jresnet", 1, 0.30, 0.31, 0.35), engine("onnxruntime", 1, 0.06, 0.061, 0.07)),
                        List.of(new Results.Comparison("onnxruntime", 1, 0.2, 4e-7))),
                new Results.BatchResult(8, List.of(engine("jresnet", 8, 2.0, 2.1, 2.3), engine("onnxruntime", 8, 0.5, 0.52, 0.6)),
                        List.of(new Results.Comparison("onnxruntime", 8, 0.25, 4e-7))));
        Results.ModelRun run = new Results.ModelRun(info(), List.of(
                new Results.PeerStatus("onnxruntime", true, "ONNX Runtime (test)", 2),
                new Results.PeerStatus("pytorch", false, "no torch here", 0)), batches);
        Path dir = tmp.resolve("nested/report");
        List<Path> files = Report.write(dir, run);
        assertEquals(3, files.size());
        for (String png : new String[] {Report.THROUGHPUT, Report.LATENCY}) {
            byte[] head = Arrays.copyOf(Files.readAllBytes(dir.resolve(png)), 4);
            assertArrayEquals(PNG, head, png + " is a PNG");
        }
        String md = Files.readString(dir.resolve(Report.SUMMARY));
        assertTrue(md.contains("`jresnet bench --batch 1,8`"), md);
        assertTrue(md.contains("| batch | engine | runs | median ms"), md);
        assertTrue(md.contains("| 8 | onnxruntime | 3 | 520.00 |"), md);
        assertTrue(md.contains("0.25x") && md.contains("4.0e-07"), md);
        assertTrue(md.contains("UNAVAILABLE, skipped: no torch here"), md);
        assertTrue(md.contains("](" + Report.THROUGHPUT + ")") && md.contains("](" + Report.LATENCY + ")"), md);
        assertTrue(md.contains(info().machine().cpuModel()), md);
        assertTrue(md.startsWith("# jresnet bench: ResNet-50 inference") && md.contains("**network:** ResNet-50"), md);
    }

    @Test
    void theLatencyChartDrawsTheRunsBeyondTheWhiskers() {
        double[] seconds = new double[21];
        for (int i = 0; i < 20; i++) {
            seconds[i] = 0.010 + i * 1e-5;
        }
        seconds[20] = 0.100; // one run far beyond: a circle at 100 ms
        Results.ModelRun run = new Results.ModelRun(info(), List.of(), List.of(new Results.BatchResult(1,
                List.of(engine("jresnet", 1, seconds)), List.of())));
        org.jfree.chart.JFreeChart chart = Report.latency(run);
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(900, 560,
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        org.jfree.chart.ChartRenderingInfo rendering = new org.jfree.chart.ChartRenderingInfo();
        java.awt.Graphics2D g = img.createGraphics();
        chart.draw(g, new java.awt.geom.Rectangle2D.Double(0, 0, 900, 560), rendering);
        g.dispose();
        org.jfree.chart.plot.CategoryPlot panel = (org.jfree.chart.plot.CategoryPlot)
                ((org.jfree.chart.plot.CombinedDomainCategoryPlot) chart.getPlot()).getSubplots().get(0);
        assertEquals(List.of(100.0), Report.beyondWhiskers(
                (org.jfree.data.statistics.BoxAndWhiskerCategoryDataset) panel.getDataset(), 0, 0));
        java.awt.geom.Rectangle2D area = rendering.getPlotInfo().getSubplotInfo(0).getDataArea();
        int x = (int) Math.round(panel.getRangeAxis().valueToJava2D(100, area, panel.getRangeAxisEdge()));
        int y = (int) Math.round(panel.getDomainAxis().getCategoryMiddle(0, 1, area, panel.getDomainAxisEdge()));
        java.awt.Color engine = Report.COLORS[0];
        int closest = Integer.MAX_VALUE;
        for (int dx = -8; dx <= 8; dx++) {  // the circle's outline crosses its centre's row about 4.5 px either side
            for (int dy = -1; dy <= 1; dy++) {
                java.awt.Color c = new java.awt.Color(img.getRGB(x + dx, y + dy));
                closest = Math.min(closest, Math.abs(c.getRed() - engine.getRed())
                        + Math.abs(c.getGreen() - engine.getGreen()) + Math.abs(c.getBlue() - engine.getBlue()));
            }
        }
        assertTrue(closest < 90, "no circle in the engine's colour at 100 ms (closest colour distance " + closest + ")");
    }

    @Test
    void theReportNamesTheNetworkThatRan(@TempDir Path tmp) throws Exception {
        Results.RunInfo i = info();
        Results.RunInfo r18 = new Results.RunInfo(i.commandLine() + " --arch resnet18", i.machine(), i.device(),
                i.deviceDetail(), i.precision(), i.cpuKernel(), i.jresnetThreads(), i.weights(), i.pretrained(),
                i.seconds(), i.warmup(), i.imageSize(), 3_628_000_000L, "ResNet-18");
        Results.ModelRun run = new Results.ModelRun(r18, List.of(), List.of(new Results.BatchResult(1,
                List.of(engine("jresnet", 1, 0.01, 0.011, 0.012)), List.of())));
        Report.write(tmp, run);
        String md = Files.readString(tmp.resolve(Report.SUMMARY));
        assertTrue(md.startsWith("# jresnet bench: ResNet-18 inference") && md.contains("**network:** ResNet-18"), md);
        assertTrue(!md.contains("ResNet-50"), md);
        assertTrue(Output.json(run).contains("\"network\" : \"ResNet-18\""), Output.json(run));
    }

    @Test
    void resNet50HasAboutTwentyDistinctConvolutionShapes() {
        List<ConvShape> shapes = ConvShape.of(Architecture.imagenet(), 224);
        assertEquals(53, shapes.stream().mapToInt(ConvShape::count).sum(), "1 stem + 16 blocks x 3 + 4 downsamples");
        assertTrue(shapes.size() >= 18 && shapes.size() <= 24, shapes.size() + " shapes");
        ConvShape stem = shapes.get(0);
        assertEquals(List.of(3, 64, 7, 2, 3, 224, 224, 1), List.of(stem.c(), stem.k(), stem.r(), stem.stride(),
                stem.pad(), stem.h(), stem.w(), stem.count()));
        assertTrue(shapes.stream().anyMatch(s -> s.label().equals("512x7x7 -> 512, 3x3/1 p1") && s.count() == 2));
        // Every convolution is counted once: their FLOPs are the network's, less the classifier's.
        long convFlops = shapes.stream().mapToLong(s -> s.flopsPerImage() * s.count()).sum();
        try (ResNet m = ResNet.untrained(0, Device.cpu())) {
            assertEquals(m.flopsPerImage(224, 224) - 2L * 2048 * 1000, convFlops);
        }
        // Any architecture: the shapes come from its description, grouped convolutions counted per group.
        for (Architecture a : List.of(Architecture.RESNET18, Architecture.RESNEXT50_32X4D)) {
            List<ConvShape> s = ConvShape.of(a, 224);
            assertEquals(a.spec().convolutions().size(), s.stream().mapToInt(ConvShape::count).sum(), a.id());
            assertEquals(a.spec().flops(224, 224) - 2L * a.features() * 1000,
                    s.stream().mapToLong(c -> c.flopsPerImage() * c.count()).sum(), a.id());
            assertEquals(a.groups(), s.stream().mapToInt(ConvShape::groups).max().orElse(0), a.id());
        }
    }

    @Test
    void labChecksEveryKernelAgainstPlainAndMarksTheOneInUse(@TempDir Path tmp) throws Exception {
        List<ConvShape> shapes = List.of(new ConvShape(16, 24, 3, 1, 1, 1, 12, 12, 1, "test.a"),
                new ConvShape(32, 64, 1, 2, 0, 1, 9, 9, 2, "test.b"));
        CpuConvBackend cpu = new CpuConvBackend();
        List<Results.LayerResult> rows = LayerLab.run(cpu, shapes, 2, 0, 0.01, m -> {});
        int kernels = cpu.algorithms().size();
        assertEquals(shapes.size() * kernels, rows.size());
        for (Results.LayerResult r : rows) {
            assertTrue(r.maxRelError() <= 1e-5, r.toString());
            assertTrue(r.latency().count() >= RoundRobin.MIN_TURNS && r.gflops() > 0, r.toString());
        }
        assertEquals(shapes.size(), rows.stream().filter(Results.LayerResult::inUse).count(), "one kernel in use per shape");
        Results.LayerRun run = new Results.LayerRun(info(), 2, rows);
        Report.write(tmp, run);
        assertArrayEquals(PNG, Arrays.copyOf(Files.readAllBytes(tmp.resolve(Report.LAYERS)), 4));
        String md = Files.readString(tmp.resolve(Report.SUMMARY));
        assertTrue(md.contains("| cpu | 16x12x12 -> 24, 3x3/1 p1 | 1 | * "), md);
        assertTrue(new com.fasterxml.jackson.databind.ObjectMapper().readTree(Output.json(run))
                .path("layers").size() == rows.size());
    }

    @Test
    void maxRelativeErrorIsRelativeToTheOutputsScale() {
        assertEquals(0.01, LayerLab.maxRelError(new float[] {0.01f, 1f}, new float[] {0f, 1f}), 1e-7);
        assertEquals(0, LayerLab.maxRelError(new float[2], new float[2]));
    }
}
