package dev.jresnet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.dnnl.Dnnl;
import dev.jresnet.dnnl.DnnlInference;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.CpuInference;
import dev.jresnet.graph.Network;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EngineProfileTest {
    @Test
    void oneDnnsStepsAreTimedTooWithoutWarmColumns() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Dnnl.unavailableReason() == null,
                () -> "oneDNN does not load here: " + Dnnl.unavailableReason());
        try (DnnlInference engine = new DnnlInference(Network.initialised(Architecture.RESNET50, 1))) {
            Results.Profile p = EngineProfile.run(EngineProfile.of(engine, EngineProfile.input(1, 64)), 1, 0, 0.01);
            assertEquals("DnnlInference", p.engine());
            assertEquals(2 + 53 + 1, p.steps().size(), "53 convolutions, max-pool, avg-pool, fc");
            assertEquals("64x16x16 -> 64x16x16", p.steps().get(2).shape());
            double forward = p.forward().mean(), steps = p.stepsSeconds();
            assertTrue(steps <= forward && steps >= 0.8 * forward - 2e-3, steps + " s of steps in " + forward + " s");
            // A block's last convolution adds into its residual's buffer: it cannot run twice, so no warm columns.
            assertFalse(p.hasWarm());
            assertEquals(16, p.steps().stream().filter(s -> s.warm() == null).count());
            assertTrue(EngineProfile.headline(p).startsWith("engine forward pass (DnnlInference), batch 1"),
                    EngineProfile.headline(p));
        }
    }

    @Test
    void theEnginesStepsAreTimedGroupedAndSumToTheForwardPass(@TempDir Path tmp) throws Exception {
        // The Java engine on a small ResNet-50 input: every class of step appears.
        Results.Profile p = EngineProfile.run(EngineProfile.of(new CpuInference(Network.initialised(
                Architecture.RESNET50, 1)), EngineProfile.input(1, 64)), 1, 0, 0.01);
        assertEquals("CpuInference", p.engine());
        assertTrue(p.passes() >= EngineProfile.MIN_PASSES);
        assertEquals(2 + 53 + 1, p.steps().size(), "53 convolutions, max-pool, avg-pool, fc");
        for (int i = 0; i < p.steps().size(); i++) {
            Results.StepTime s = p.steps().get(i);
            assertEquals(i, s.index());
            assertEquals(p.passes(), s.latency().count(), s.name());
            assertTrue(EngineProfile.GROUPS.contains(s.group()), s.group());
        }
        assertEquals("stem", p.steps().get(0).group());
        assertEquals("max-pool", p.steps().get(1).group());
        assertEquals("64x16x16 -> 64x16x16", p.steps().get(2).shape());
        int[] counts = new int[EngineProfile.GROUPS.size()];
        p.steps().forEach(s -> counts[EngineProfile.GROUPS.indexOf(s.group())]++);
        // ResNet-50: 13 3x3 stride 1, 16 1x1 reduce, 16 expand, 3 3x3 stride 2, 4 downsample
        assertEquals(List.of(1, 13, 16, 16, 3, 4, 0, 1, 2), java.util.Arrays.stream(counts).boxed().toList());
        // The steps are all the pass does, less the walk between them.
        double forward = p.forward().mean(), steps = p.stepsSeconds();
        assertTrue(steps <= forward && steps >= 0.9 * forward - 2e-3, steps + " s of steps in " + forward + " s");
        double shares = p.groups().stream().mapToDouble(Results.GroupTime::share).sum();
        assertEquals(steps / forward, shares, 1e-9);
        assertTrue(p.groups().stream().filter(g -> !g.group().equals("max-pool")).allMatch(g -> g.gflops() > 0));
        // Every step also timed alone and warm: a median of WARM_REPEATS runs in each warm pass, at least
        // WARM_PASSES of them, one after every WARM_EVERY timed passes.
        assertTrue(p.hasWarm());
        int warmPasses = Math.max(EngineProfile.WARM_PASSES, p.passes() / EngineProfile.WARM_EVERY);
        for (Results.StepTime s : p.steps()) {
            assertEquals(warmPasses, s.warm().count(), s.name());
            assertTrue(s.warm().median() > 0, s.name());
        }
        assertEquals(p.steps().stream().mapToDouble(s -> s.warm().median()).sum(), p.medianSeconds(null, true), 1e-12);

        Results.LayerRun run = new Results.LayerRun(ReportAndLabTest.info(), 1, List.of(), p);
        JsonNode root = new ObjectMapper().readTree(Output.json(run));
        JsonNode prof = root.path("profile");
        assertEquals(1, prof.path("batch").asInt());
        assertEquals(p.steps().size(), prof.path("steps").size());
        assertEquals(p.groups().size(), prof.path("groups").size());
        assertEquals("layer1.0.conv1", prof.path("steps").get(2).path("name").asText());
        assertTrue(prof.path("steps").get(1).path("gflops").isNull(), "max-pool has no GFLOP/s");
        assertTrue(prof.path("forward").path("latency_ms").path("median").asDouble() > 0);
        assertTrue(prof.path("steps").get(2).path("warm").path("latency_ms").path("median").asDouble() > 0);
        assertTrue(prof.path("groups").get(0).path("warm_median_ms").asDouble() > 0);

        String text = Output.profileGroups(p).text();
        assertTrue(text.contains("1x1 expand + residual") && text.contains("all steps"), text);
        assertTrue(text.contains("warm ms") && text.contains("pass/warm"), text);
        assertTrue(Output.profileSteps(p).text().contains("pass/warm"));
        assertTrue(Output.profileSteps(p).text().contains("layer4.2.conv3"));
        assertFalse(text.contains("NaN") || Output.profileSteps(p).text().contains("NaN"), "max-pool has no GFLOP/s: -");
        org.jfree.chart.renderer.category.CategoryItemRenderer bars = Report.profile(run).getCategoryPlot().getRenderer();
        java.util.Set<java.awt.Paint> colours = new java.util.HashSet<>();
        for (int g = 0; g < p.groups().size(); g++) {
            colours.add(bars.getSeriesPaint(g));
        }
        assertEquals(p.groups().size(), colours.size(), "every class of step has a colour of its own");
        Report.write(tmp, run);
        assertTrue(Files.size(tmp.resolve(Report.PROFILE)) > 0);
        String md = Files.readString(tmp.resolve(Report.SUMMARY));
        assertTrue(md.contains("## The engine's forward pass, step by step") && md.contains("| 3x3 stride 2 | 3 |"), md);
    }
}
