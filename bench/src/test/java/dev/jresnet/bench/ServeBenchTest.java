package dev.jresnet.bench;

import dev.jresnet.graph.Architecture;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A short bounded {@code jresnet bench --serve}: the seeded resnet18 at 64 px behind the server, 6 clients for 2 s
 * with max batch 1 and with 8. Every answer must be the model's own classify of that image, none lost, the health
 * check answered during the load, and the batching run must form batches.
 */
class ServeBenchTest {
    @Test
    void everyAnswerUnderLoadIsCorrectNoneIsLostAndHealthAnswers() throws Exception {
        try (ResNet model = ResNet.builder().architecture(Architecture.RESNET18).imageSize(64).device(Device.cpu())
                .build()) {
            ServeBench bench = new ServeBench(model, 8, 0);
            ServeBench.Run one = bench.run(1, 6, 2, 0.5);
            ServeBench.Run batched = bench.run(8, 6, 2, 0.5);
            StringWriter text = new StringWriter();
            ServeBench.print(new PrintWriter(text), List.of(one, batched), "test");
            for (ServeBench.Run r : List.of(one, batched)) {
                assertNull(r.firstProblem(), text.toString());
                assertTrue(r.ok() > 6, "too few answers to mean anything: " + text);
                assertEquals(0, r.errors() + r.wrong(), text.toString());
                assertEquals(r.sent(), r.answered(), "requests lost: " + text);
                assertTrue(r.healthChecks() >= 5 && r.healthOk() == r.healthChecks(), text.toString());
            }
            assertEquals(1.0, one.meanBatch(), 1e-9, text.toString());
            assertTrue(batched.meanBatch() > 1.5, "6 clients and max batch 8 formed no batches: " + text);
            assertTrue(text.toString().contains("max batch 8: "), text.toString());
        }
    }

    @Test
    void theGeneratedImagesAreDistinctPngs() throws Exception {
        List<byte[]> images = ServeBench.generate(3, 0);
        assertEquals(3, images.size());
        assertEquals((byte) 0x89, images.get(0)[0]);
        assertTrue(!java.util.Arrays.equals(images.get(0), images.get(1)));
    }
}
