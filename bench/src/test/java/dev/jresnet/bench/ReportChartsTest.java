package dev.jresnet.bench;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.CombinedDomainCategoryPlot;
import org.jfree.chart.title.TextTitle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The report charts say where and how they were measured, and draw latency from 0. Checked on the JFreeChart
 * objects, not on pixels; set -Djresnet.chartsDir=DIR to keep the PNGs for a look.
 */
class ReportChartsTest {
    @TempDir
    Path tmp;

    private Path dir() throws Exception {
        String keep = System.getProperty("jresnet.chartsDir");
        return keep != null ? Files.createDirectories(Path.of(keep)) : tmp;
    }

    /** Latencies like a 2-core run's: jresnet about 3x slower than ONNX Runtime, noisy at batch 1. */
    static Results.ModelRun run(int... batches) {
        Random rnd = new Random(7);
        List<Results.BatchResult> list = new ArrayList<>();
        for (int b : batches) {
            int runs = Math.max(3, 40 / b);
            Results.EngineResult j = engine(rnd, "jresnet", b, 0.220 * b, runs);
            Results.EngineResult o = engine(rnd, "onnxruntime", b, 0.075 * b, runs);
            list.add(new Results.BatchResult(b, List.of(j, o),
                    List.of(new Results.Comparison("onnxruntime", b, o.latency().mean() / j.latency().mean(), 9e-7))));
        }
        return new Results.ModelRun(ReportAndLabTest.info(), List.of(
                new Results.PeerStatus("onnxruntime", true, "ONNX Runtime (test)", 2)), list);
    }

    private static Results.EngineResult engine(Random rnd, String name, int batch, double mean, int runs) {
        double[] s = new double[runs];
        for (int i = 0; i < runs; i++) {
            s[i] = mean * (1 + 0.12 * Math.abs(rnd.nextGaussian())) + (i == 0 ? mean * 0.5 : 0);
        }
        return ReportAndLabTest.engine(name, batch, s);
    }

    private static List<String> subtitles(JFreeChart chart) {
        List<String> l = new ArrayList<>();
        for (int i = 0; i < chart.getSubtitleCount(); i++) {
            if (chart.getSubtitle(i) instanceof TextTitle t) {
                l.add(t.getText());
            }
        }
        return l;
    }

    private static void assertSaysWhereAndHow(JFreeChart chart, Results.RunInfo info, String... more) {
        assertNamesDevice(chart, info, "cpu (kernel plain)", more);
    }

    private static void assertNamesDevice(JFreeChart chart, Results.RunInfo info, String device, String... more) {
        String all = String.join("\n", subtitles(chart));
        for (String s : List.of(info.machine().cpuModel(), info.machine().cores() + " cores", device,
                info.precision(), info.jresnetThreads() + " threads", info.machine().date(), Report.version())) {
            assertTrue(all.contains(s), "subtitles name " + s + ":\n" + all);
        }
        for (String s : more) {
            assertTrue(all.contains(s), "subtitles name " + s + ":\n" + all);
        }
    }

    @Test
    void throughputAndLatencyChartsNameTheMachineAndStartAtZero() throws Exception {
        Results.ModelRun run = run(1, 8, 32, 256);
        JFreeChart throughput = Report.throughput(run);
        assertSaysWhereAndHow(throughput, run.info(), "onnxruntime 2 threads");
        assertEquals(0, throughput.getCategoryPlot().getRangeAxis().getLowerBound());

        JFreeChart latency = Report.latency(run);
        assertSaysWhereAndHow(latency, run.info(), "onnxruntime 2 threads");
        List<?> panels = ((CombinedDomainCategoryPlot) latency.getPlot()).getSubplots();
        assertEquals(4, panels.size(), "one panel per batch size");
        for (int i = 0; i < panels.size(); i++) {
            ValueAxis ms = ((CategoryPlot) panels.get(i)).getRangeAxis();
            assertEquals(0, ms.getLowerBound(), ms.getLabel());
            assertTrue(ms.getLabel().startsWith("batch " + run.batches().get(i).batch() + ":"), ms.getLabel());
            double max = run.batches().get(i).engines().stream().mapToDouble(e -> e.latency().max()).max()
                    .orElseThrow();
            assertTrue(ms.getUpperBound() >= max * 1e3, "the slowest run fits: " + ms.getUpperBound());
        }
        Report.write(dir(), run);
        Report.write(dir().resolve("batch1"), run(1));
    }

    @Test
    void layerChartNamesTheMachine() throws Exception {
        ConvShape a = new ConvShape(64, 64, 3, 1, 1, 1, 56, 56, 3, "layer1");
        ConvShape b = new ConvShape(256, 512, 1, 2, 0, 1, 56, 56, 1, "layer2");
        List<Results.LayerResult> rows = new ArrayList<>();
        String[] kernels = {"plain", "vector-256bit-6x16", "vector-512bit-6x32"};
        for (ConvShape s : List.of(a, b)) {
            for (int k = 0; k < kernels.length; k++) {
                double sec = 0.02 / (k + 1);
                rows.add(new Results.LayerResult("cpu", s, kernels[k], k == 2, Statistics.of(sec, sec * 1.1, sec * 1.2),
                        s.flopsPerImage() * 8 / sec / 1e9, 1e-7));
            }
        }
        Results.LayerRun run = new Results.LayerRun(ReportAndLabTest.info(), 8, rows);
        JFreeChart chart = Report.layers(run);
        // the GEMM kernels on im2col, not the engine's device (which may be the direct convolution)
        assertNamesDevice(chart, run.info(), "on cpu (unfused CpuOps.conv2d: im2col + each GEMM kernel), fp32");
        assertEquals(0, chart.getCategoryPlot().getRangeAxis().getLowerBound());
        Report.write(dir().resolve("layers"), run);
    }
}
