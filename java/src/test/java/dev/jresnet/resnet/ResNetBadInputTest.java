package dev.jresnet.resnet;

import dev.jresnet.graph.Architecture;
import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ResNet API with bad inputs: closed models, null files, extreme images, logits that overflow. */
class ResNetBadInputTest {
    static ResNet small() throws Exception {
        return ResNet.builder().architecture(Architecture.of("resnet18")).seed(3).build();
    }

    @Test
    void everyPublicMethodOfAClosedModelThrows() throws Exception {
        ResNet m = small();
        RgbImage img = new RgbImage(8, 8, new byte[8 * 8 * 3]);
        m.close();
        m.close(); // idempotent
        Map<String, Executable> calls = Map.ofEntries(
                Map.entry("preprocess", () -> m.preprocess(img)),
                Map.entry("crop", () -> m.crop(img)),
                Map.entry("topK", () -> m.topK(Tensor.zeros(1, 1000), 1)),
                Map.entry("classify(List.of())", () -> m.classify(List.of(), 1)),
                Map.entry("classify(image)", () -> m.classify(img, 1)),
                Map.entry("logitsOfCrops", () -> m.logitsOfCrops(List.of())),
                Map.entry("labels", m::labels),
                Map.entry("architecture", m::architecture),
                Map.entry("network", m::network),
                Map.entry("preset", m::preset),
                Map.entry("inputSize", m::inputSize),
                Map.entry("device", m::device),
                Map.entry("deviceDescription", m::deviceDescription),
                Map.entry("precision", m::precision),
                Map.entry("weightsDescription", m::weightsDescription),
                Map.entry("isPretrained", m::isPretrained),
                Map.entry("parameterCount", m::parameterCount),
                Map.entry("flopsPerImage", () -> m.flopsPerImage(224, 224)),
                Map.entry("exportWeights", () -> m.exportWeights(null)),
                Map.entry("cudaEngine", m::cudaEngine));
        List<String> notRefused = new ArrayList<>();
        calls.forEach((name, call) -> {
            try {
                call.execute();
                notRefused.add(name);
            } catch (IllegalStateException e) {
                assertTrue(e.getMessage().startsWith("this model is closed"), name + ": " + e.getMessage());
            } catch (Throwable t) {
                notRefused.add(name + " (" + t + ")");
            }
        });
        assertEquals(List.of(), notRefused, "calls a closed model did not refuse with IllegalStateException");
    }

    @Test
    void loadOfNullIsRefusedNotTheUntrainedModel() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> ResNet.load(null, Device.cpu()));
        assertTrue(e.getMessage().startsWith("weights"), e.getMessage());
        e = assertThrows(NullPointerException.class, () -> ResNet.load(Path.of("x.pth"), null));
        assertTrue(e.getMessage().startsWith("device"), e.getMessage());
    }

    @Test
    void extremeAspectRatiosAreClassified() throws Exception {
        try (ResNet m = small()) {
            RgbImage wide = new RgbImage(20000, 1, new byte[20000 * 3]);
            RgbImage tall = new RgbImage(1, 20000, new byte[20000 * 3]);
            List<List<Prediction>> r = m.classify(List.of(wide, tall), 3);
            assertEquals(2, r.size());
            assertEquals(3, r.get(0).size());
        }
    }

    @Test
    void softmaxOfHugeLogitsIsFiniteAndNonFiniteRowsAreRefused() throws Exception {
        try (ResNet m = small()) {
            Tensor logits = Tensor.zeros(1, 1000);
            logits.data()[7] = 3e38f;
            logits.data()[8] = -3e38f;
            Prediction top = m.topK(logits, 1).get(0).get(0);
            assertEquals(7, top.index());
            assertEquals(1f, top.probability());
            logits.data()[9] = Float.POSITIVE_INFINITY;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.topK(logits, 1));
            assertTrue(e.getMessage().contains("not finite") && e.getMessage().contains("class 9"), e.getMessage());
        }
    }
}
