package dev.jresnet.cpu;

import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.CpuConvolution;
import dev.jresnet.graph.CpuInference;
import dev.jresnet.graph.Network;
import dev.jresnet.tensor.Tensor;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The fast path's vector code runs as C2's intrinsics, not on the Vector API's Java fallback. Where C2 does not
 * inline a vector operation into its caller (a method grown past its inlining budget, a vector passed to a method it
 * does not inline), the operation runs the API's scalar fallback, which allocates: Winograd's transforms did so in
 * every layer, 2-3x the time of ONNX Runtime's convolution. A sampling profile of the engine's forward pass, after
 * warm-up, must find (next to) no samples in the fallback's methods. (C1 has no vector intrinsics: code it compiled
 * runs the fallback inlined, so the samples count only once C2 has had its time.)
 */
class VectorFallbackTest {
    /** The Vector API's Java implementations of its operations: ldOp, stOp, uOp, bOp, tOp, their templates, rvOp. */
    private static final Pattern FALLBACK = Pattern.compile("(ld|st|u|b|t|rv|v)Op(Template)?");

    @Test
    void theForwardPassRunsNoVectorFallback(@TempDir Path tmp) throws Exception {
        assumeTrue(DirectConv.available(), "the Vector API is not in this JVM");
        CpuInference engine = new CpuInference(Network.initialised(Architecture.RESNET50, 1),
                CpuConvolution.winograd());
        Tensor x = Naive.random(5, 1, 3, 96, 96);
        Path file = tmp.resolve("fallback.jfr");
        java.time.Instant measured;
        // Recording from the start: JFR's start recompiles hot methods, and C1's code runs the fallback.
        try (Recording r = new Recording()) {
            r.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(1));
            r.start();
            long warm = System.nanoTime() + 6_000_000_000L;
            while (System.nanoTime() < warm) {   // into C2 (at 96 px every kind of step: Winograd, taps, 1x1, fc)
                engine.forward(x);
            }
            measured = java.time.Instant.now();
            long end = System.nanoTime() + 2_000_000_000L;
            while (System.nanoTime() < end) {
                engine.forward(x);
            }
            r.stop();
            r.dump(file);
        }
        int samples = 0, fallback = 0;
        Map<String, Integer> where = new TreeMap<>();
        for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
            if (e.getStartTime().isBefore(measured) || e.getStackTrace() == null
                    || e.getStackTrace().getFrames().isEmpty()) {
                continue;
            }
            samples++;
            RecordedFrame top = e.getStackTrace().getFrames().get(0);
            String type = top.getMethod().getType().getName();
            if (type.startsWith("jdk.incubator.vector.") && FALLBACK.matcher(top.getMethod().getName()).matches()) {
                fallback++;
                String caller = e.getStackTrace().getFrames().stream().map(f -> f.getMethod().getType().getName()
                        + "." + f.getMethod().getName()).filter(n -> n.startsWith("dev.jresnet.")).findFirst()
                        .orElse("?");
                where.merge(caller + ">" + top.getMethod().getName() + "@" + top.getType(), 1, Integer::sum);
            }
        }
        assumeTrue(samples >= 200, "too few samples (" + samples + ") to tell");
        System.out.println("vector fallback: " + fallback + " of " + samples + " samples " + where);
        // Winograd's transforms before the fix: 41 of 1887 samples here (2 %, at 96 px); after it: none.
        assertTrue(fallback <= samples / 500, fallback + " of " + samples + " samples in the Vector API's Java "
                + "fallback, under " + where);
    }
}
