package dev.jresnet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.cuda.HalfLayouts;
import dev.jresnet.tensor.Half;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU kernel lab's flow, table, summary, JSON and report, with a fake backend in place of cuDNN (no GPU here):
 * unsupported algorithms are listed, outputs are checked against the CPU, invalid ones are never timed.
 */
class GpuLabTest {
    static final List<ConvShape> SHAPES = List.of(new ConvShape(8, 16, 3, 1, 1, 1, 10, 10, 3, "test.a"),
            new ConvShape(16, 32, 1, 2, 0, 1, 9, 9, 1, "test.b"));

    /** A backend whose algorithms behave as named; it records which were timed. */
    static final class FakeBackend implements ConvBackend {
        final String precision;
        final Map<String, Integer> timed = new ConcurrentHashMap<>();
        final List<ConvAlgorithm> algos = new ArrayList<>();

        FakeBackend(String precision) {
            this.precision = precision;
            for (String n : new String[] {"GOOD", "NOISY", "NOPE", "BOOM", "NAN", "SLOW"}) {
                algos.add(new Algo(n));
            }
        }

        @Override
        public String section() {
            return "fake:0 " + precision;
        }

        @Override
        public String precision() {
            return precision;
        }

        @Override
        public List<ConvAlgorithm> algorithms() {
            return algos;
        }

        @Override
        public double tolerance() {
            return precision.equals("fp32") ? 1e-5 : 1e-2;
        }

        @Override
        public boolean timesAlone() {
            return true;
        }

        /** The engine "picks" SLOW on the first shape and NOISY (which fails the check) on the second. */
        @Override
        public String inUse(ConvShape s, int batch) {
            return s.first().equals("test.a") ? "SLOW" : "NOISY";
        }

        final class Algo implements ConvAlgorithm {
            final String name;

            Algo(String name) {
                this.name = name;
            }

            @Override
            public String name() {
                return name;
            }

            @Override
            public Prepared prepare(ConvShape s, int batch, float[] input, float[] weight) throws Unsupported {
                if (name.equals("NOPE")) {
                    throw new Unsupported("workspace query: CUDNN_STATUS_NOT_SUPPORTED");
                }
                return new Prepared() {
                    float[] out;

                    @Override
                    public double run() {
                        if (name.equals("BOOM")) {
                            throw new IllegalStateException("cudnnConvolutionForward failed: CUDNN_STATUS_EXECUTION_FAILED");
                        }
                        out = LayerLab.cpuReference(s, batch, input, weight).clone();
                        if (name.equals("NOISY")) {
                            out[0] += 0.5f;
                        } else if (name.equals("NAN")) {
                            out[out.length - 1] = Float.NaN;
                        }
                        return 1e-4;
                    }

                    @Override
                    public float[] output() {
                        return out;
                    }

                    @Override
                    public long workspaceBytes() {
                        return name.equals("SLOW") ? 3L << 20 : 0;
                    }

                    @Override
                    public double[] time(int warmup, int runs) {
                        timed.merge(name, runs, Integer::sum);
                        double[] t = new double[runs];
                        Arrays.fill(t, name.equals("SLOW") ? 2e-4 : 1e-4);
                        return t;
                    }
                };
            }
        }
    }

    static Results.RunInfo info() {
        return new Results.RunInfo("jresnet bench --layers --device cuda --precision fp16,fp32", MachineInfo.current(),
                "cuda:0", "cuda:0 (fake)", "fp16,fp32", "plain", 2, "random tensors", false, 0.1, 0.02, 224,
                8_178_000_000L, "ResNet-50");
    }

    @Test
    void everyAlgorithmIsListedAndOnlyValidOnesAreTimed() throws Exception {
        FakeBackend fp16 = new FakeBackend("fp16"), fp32 = new FakeBackend("fp32");
        List<Results.LayerResult> rows = LayerLab.runAlone(List.of(fp16, fp32), SHAPES, 2, 0.001, 0.01, 7, m -> {});
        assertEquals(SHAPES.size() * 2 * 6, rows.size());
        for (Results.LayerResult r : rows) {
            Results.LayerStatus expected = switch (r.kernel()) {
                case "GOOD", "SLOW" -> Results.LayerStatus.VALID;
                case "NOISY", "NAN" -> Results.LayerStatus.INVALID;
                case "NOPE" -> Results.LayerStatus.UNSUPPORTED;
                default -> Results.LayerStatus.FAILED;
            };
            assertEquals(expected, r.status(), r.toString());
            assertEquals(expected == Results.LayerStatus.VALID, r.timed(), r.toString());
            if (r.timed()) {
                assertTrue(r.latency().count() >= LayerLab.MIN_RUNS && r.latency().count() <= 7, r.toString());
                assertEquals(r.shape().flopsPerImage() * 2 / r.latency().median() / 1e9, r.gflops(), 1e-6);
            } else {
                assertTrue(Double.isNaN(r.gflops()), r.toString());
            }
        }
        assertEquals(Map.of("GOOD", fp16.timed.get("GOOD"), "SLOW", fp16.timed.get("SLOW")), fp16.timed,
                "only valid algorithms are timed");
        // The pick is marked per shape: SLOW on test.a, NOISY (invalid, so untimed) on test.b.
        assertEquals(List.of("SLOW", "NOISY", "SLOW", "NOISY"),
                rows.stream().filter(Results.LayerResult::inUse).map(Results.LayerResult::kernel).toList());
        Results.LayerResult unsupported = rows.stream().filter(r -> r.kernel().equals("NOPE")).findFirst().orElseThrow();
        assertTrue(unsupported.note().contains("NOT_SUPPORTED"), unsupported.note());
        assertEquals(-1, unsupported.workspaceBytes());
    }

    @Test
    void tableSummaryJsonAndReport(@TempDir Path tmp) throws Exception {
        List<Results.LayerResult> rows = LayerLab.runAlone(List.of(new FakeBackend("fp16"), new FakeBackend("fp32")),
                SHAPES, 2, 0, 0.001, 5, m -> {});
        Results.LayerRun run = new Results.LayerRun(info(), 2, rows, true, 5);

        String text = Output.gpuLayerTable(rows).text();
        assertTrue(text.startsWith("precision  shape (C x H x W -> K, R x S/stride pad)  convs  algorithm"), text);
        for (String col : new String[] {"median us", "p90 us", "TFLOP/s", "workspace MiB", "max rel err", "valid"}) {
            assertTrue(text.contains(col), col);
        }
        assertTrue(text.contains("* SLOW"), text);
        assertTrue(text.contains("unsupported") && text.contains("NO (> 1e-02)") && text.contains("failed"), text);
        String slow = text.lines().filter(l -> l.contains("* SLOW") && l.startsWith("fp16")).findFirst().orElseThrow();
        assertTrue(slow.contains(" 200.0 ") && slow.contains(" 3.0 ") && slow.endsWith("yes"), slow);

        List<Output.SectionSummary> sums = Output.summaries(rows);
        assertEquals(2, sums.size());
        Output.SectionSummary s = sums.get(0);
        assertEquals("fp16", s.precision());
        assertEquals(List.of(12, 4, 4, 2, 2), List.of(s.rows(), s.valid(), s.invalid(), s.unsupported(), s.failed()));
        Output.ShapeSummary a = s.shapes().get(0);
        assertEquals("SLOW", a.pick());
        assertEquals("GOOD", a.best());
        assertEquals(2e-4, a.pickSeconds(), 1e-12);
        assertEquals(1e-4, a.bestSeconds(), 1e-12);
        assertTrue(Double.isNaN(s.shapes().get(1).pickSeconds()), "the second shape's pick failed the check");
        // Totals weigh each shape by its number of convolutions, over shapes where the pick was timed.
        assertEquals(3 * 2e-4, s.pickedTotal(), 1e-12);
        assertEquals(3 * 1e-4, s.bestTotal(), 1e-12);
        assertEquals(1, s.shapesWithoutTimedPick());
        String summary = String.join("\n", Output.gpuSummary(rows));
        assertTrue(summary.contains("fake:0 fp16: 4 of 12 algorithm runs valid (4 invalid, 2 unsupported, 2 failed)"),
                summary);
        assertTrue(summary.contains("pick SLOW 200.0 us") && summary.contains("best GOOD 100.0 us (pick/best 2.00x)"),
                summary);
        assertTrue(summary.contains("picked 600.0 us, best 300.0 us (picked/best 2.00x); 1 shape(s) left out"), summary);

        JsonNode root = new ObjectMapper().readTree(Output.json(run));
        assertEquals("cuda", root.path("kind").asText());
        assertEquals(5, root.path("settings").path("max_runs").asInt());
        assertEquals(rows.size(), root.path("layers").size());
        JsonNode first = root.path("layers").get(0);
        for (String k : new String[] {"section", "precision", "shape", "algorithm", "in_use", "status", "valid", "runs",
                "latency_ms", "gflops", "tflops", "max_rel_error", "tolerance", "workspace_bytes"}) {
            assertTrue(first.has(k), k + " missing from " + first);
        }
        for (JsonNode l : root.path("layers")) {
            boolean valid = l.path("valid").asBoolean();
            assertEquals(valid, l.path("status").asText().equals("valid"));
            assertEquals(valid, l.path("latency_ms").isObject(), l.toString());
            assertEquals(valid, l.path("tflops").isNumber(), l.toString());
            if (l.path("status").asText().equals("unsupported")) {
                assertTrue(l.path("workspace_bytes").isNull() && l.path("max_rel_error").isNull(), l.toString());
            }
        }
        JsonNode js = root.path("summary").get(0);
        assertEquals("fp16", js.path("precision").asText());
        assertEquals(4, js.path("valid").asInt());
        assertEquals(600.0, js.path("picked_total_us").asDouble(), 1e-6);
        assertEquals(300.0, js.path("best_total_us").asDouble(), 1e-6);
        assertEquals("SLOW", js.path("shapes").get(0).path("pick").asText());
        assertTrue(js.path("shapes").get(1).path("pick_us").isNull());

        List<Path> files = Report.write(tmp, run);
        assertEquals(3, files.size());
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'},
                Arrays.copyOf(Files.readAllBytes(tmp.resolve(Report.LAYERS)), 4));
        String md = Files.readString(tmp.resolve(Report.SUMMARY));
        assertTrue(md.contains("## Summary") && md.contains("picked/best 2.00x"), md);
        assertTrue(md.contains("| precision | shape (C x H x W -> K, R x S/stride pad) | convs | algorithm | median us |"), md);
        assertTrue(md.contains("| fp32 | 8x10x10 -> 16, 3x3/1 p1 | 3 | * SLOW | 200.0 |"), md);
        assertTrue(md.contains("CUDA events"), md);
        assertEquals(rows.size(), new ObjectMapper().readTree(tmp.resolve(Report.LAYERS_JSON).toFile())
                .path("layers").size());
    }

    @Test
    void cpuRowsStillTimeInTurnsAndCarryNoWorkspace() throws Exception {
        List<Results.LayerResult> rows = LayerLab.run(new CpuConvBackend(), SHAPES.subList(0, 1), 1, 0, 0.01, m -> {});
        for (Results.LayerResult r : rows) {
            assertEquals(Results.LayerStatus.VALID, r.status());
            assertEquals(-1, r.workspaceBytes());
            assertEquals("fp32", r.precision());
        }
        JsonNode root = new ObjectMapper().readTree(Output.json(new Results.LayerRun(info(), 1, rows)));
        assertEquals("cpu", root.path("kind").asText());
        assertTrue(root.path("summary").isMissingNode());
        assertTrue(root.path("layers").get(0).path("workspace_bytes").isNull());
    }

    @Test
    void algorithmNamesAndHalfLayoutConversionsNeedNoGpu() {
        assertEquals(8, ConvForwardLab.ALGORITHMS);
        assertEquals("IMPLICIT_GEMM", ConvForwardLab.algorithmName(0));
        assertEquals("IMPLICIT_PRECOMP_GEMM", ConvForwardLab.algorithmName(1));
        assertEquals("WINOGRAD_NONFUSED", ConvForwardLab.algorithmName(7));
        assertEquals(6, ConvForwardLab.algorithm("winograd"));
        assertEquals(3, ConvForwardLab.algorithm("3"));
        // NCHW [2,3,2,2] -> NHWC fp16 -> NCHW: values exact in fp16 come back unchanged, in place.
        float[] a = new float[24];
        for (int i = 0; i < a.length; i++) {
            a[i] = i - 7.5f;
        }
        short[] h = HalfLayouts.nchwToNhwcHalf(a, 2, 3, 2, 2);
        assertEquals(Half.floatToF16(a[1 * 4]), h[1], "n0 h0 w0 c1 is NCHW element (0,1,0,0)");
        float[] back = new float[a.length];
        HalfLayouts.nhwcHalfToNchw(h, back, 2, 3, 2, 2);
        assertArrayEquals(a, back);
    }

    @Test
    void theGpuShapesOfTheJmhBenchmarkAreResNet50s() {
        // c, k, r, stride, pad, h = w, how many of ResNet-50 v1.5's convolutions at 224x224 have it, the first
        assertConv(ConvGpuBenchmark.shapeOf("stem"), 3, 64, 7, 2, 3, 224, 1, "conv1");
        assertConv(ConvGpuBenchmark.shapeOf("layer1"), 64, 64, 3, 1, 1, 56, 3, "layer1.0.conv2");
        assertConv(ConvGpuBenchmark.shapeOf("layer3"), 256, 1024, 1, 1, 0, 14, 6, "layer3.0.conv3");
        // layer4.0.conv2 is stride 2 on 14x14
        assertConv(ConvGpuBenchmark.shapeOf("layer4"), 512, 512, 3, 1, 1, 7, 2, "layer4.1.conv2");
        assertEquals(2L * 64 * 3 * 7 * 7 * 112 * 112, ConvGpuBenchmark.shapeOf("stem").flopsPerImage());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConvGpuBenchmark.shapeOf("layer2"));
        assertTrue(e.getMessage().contains("stem, layer1, layer3, layer4"), e.getMessage());
    }

    private static void assertConv(ConvShape s, int c, int k, int r, int stride, int pad, int hw, int count,
                                   String first) {
        assertEquals(new ConvShape(c, k, r, stride, pad, 1, hw, hw, count, first), s, s.label());
    }
}
