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
                "plain", 2, "seeded untrained (seed 0)", false, 10, 3, 224, 8_178_000_000L);
    }

    static Results.EngineResult engine(String name, int batch, double... seconds) {
        Statistics s = Statistics.of(seconds);
        return new Results.EngineResult(name, batch, s, batch / s.mean(), batch / s.mean() * 8.178, OptionalDouble.empty());
    }

    @Test
    void theSubtitleNamesTheDirectConvolutionsTileWhereItRuns() {
        Results.RunInfo direct = new Results.RunInfo("jresnet bench", MachineInfo.current(), "cpu",
                "cpu (requested; CPU kernel vector-512bit-8x48, direct convolution, 16-channel blocks, tile 4x7)", "fp32",
                "vector-512bit-8x48", 2, "seeded untrained (seed 0)", false, 10, 3, 224, 8_178_000_000L);
        String first = Report.subtitleLines(direct, java.util.List.of()).get(0);
        org.junit.jupiter.api.Assertions.assertTrue(first.contains("on cpu (direct convolution, tile 4x7), fp32"), first);
        Results.RunInfo winograd = new Results.RunInfo("jresnet bench", MachineInfo.current(), "cpu",
                "cpu (auto; CPU kernel vector-512bit-8x48, direct convolution, 16-channel blocks, tile 4x7, Winograd"
                        + " F(2x2,3x3) on 3x3 stride 1 up to 256 channels)", "fp32",
                "vector-512bit-8x48", 2, "seeded untrained (seed 0)", false, 10, 3, 224, 8_178_000_000L);
        first = Report.subtitleLines(winograd, java.util.List.of()).get(0);
        org.junit.jupiter.api.Assertions.assertTrue(
                first.contains("on cpu (direct convolution, tile 4x7, Winograd F(2x2,3x3)), fp32"), first);
        Results.RunInfo taps = new Results.RunInfo("jresnet bench", MachineInfo.current(), "cpu",
                "cpu (auto; CPU kernel vector-512bit-8x48, " + dev.jresnet.graph.CpuConvolution.winograd().describe()
                        + ")", "fp32", "vector-512bit-8x48", 2, "seeded untrained (seed 0)", false, 10, 3, 224,
                8_178_000_000L);
        first = Report.subtitleLines(taps, java.util.List.of()).get(0);
        org.junit.jupiter.api.Assertions.assertTrue(first.contains("on cpu (direct convolution, tile "
                + dev.jresnet.cpu.DirectConv.defaultTile() + ", Winograd F(2x2,3x3), 3x3 by taps), fp32"), first);
        first = Report.subtitleLines(info(), java.util.List.of()).get(0);
        org.junit.jupiter.api.Assertions.assertTrue(first.contains("on cpu (kernel plain), fp32"), first);
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
