package dev.jresnet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.Preset;
import dev.jresnet.image.RgbImage;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.Variant;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.finetune.FineTuner;
import dev.jresnet.train.Transforms;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * classify on a model as {@code jresnet finetune} writes it (few classes, trained at another image size):
 * preprocessing at the training size, {@code --top} defaulting to the number of classes when below 5.
 */
class FineTunedModelClassifyTest {
    /** A seeded 3-class model whose metadata says it was fine-tuned at {@code size} px. */
    static Path writeModel(Path dir, int size) throws Exception {
        Network g = new Network(Architecture.RESNET50.withClasses(3));
        WeightBinding.initialise(g, 7);
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        g.visitTensors((name, t, kind) -> entries.put(name,
                new WeightSet.Entry(name, DataType.F32, t, null, t.shape().dims())));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(ResNet.META_CLASSES, "cat\ndog\nrocket");
        meta.put(ResNet.META_PRESET, Preset.TORCHVISION_V1.id());
        meta.put(FineTuner.META_IMAGE_SIZE, Integer.toString(size));
        Path file = dir.resolve("tiny.safetensors");
        SafetensorsWriter.write(file, new WeightSet(null, entries, Map.of()), DataType.F32, meta);
        return file;
    }

    @Test
    void theModelPreprocessesAtItsTrainingSize(@TempDir Path tmp) throws Exception {
        Path file = writeModel(tmp, 64);
        RgbImage image = ImageDecoder.decode(ClassifyCommandTest.samples().resolve("chelsea.png"));
        try (ResNet m = ResNet.builder().weights(file).build()) {
            assertEquals(64, m.inputSize());
            Tensor x = m.preprocess(image);
            assertArrayEquals(new int[] {3, 64, 64}, x.shape().dims());
            assertArrayEquals(Transforms.eval(Preset.TORCHVISION_V1, 64).apply(image, null).data(), x.data(),
                    "the same preprocessing as evaluation at the training size");
            assertEquals("64", m.exportWeights("test").metadata().get(ResNet.META_IMAGE_SIZE));
        }
        try (ResNet m = ResNet.builder().weights(file).imageSize(224).build()) {
            assertEquals(224, m.inputSize(), "the builder overrides the metadata");
            assertArrayEquals(Preset.TORCHVISION_V1.preprocess(image).data(), m.preprocess(image).data());
        }
        try (ResNet m = ResNet.untrained(0, dev.jresnet.resnet.Device.cpu())) {
            assertEquals(224, m.inputSize(), "no metadata: the preset's crop");
        }
    }

    @Test
    void classifyUsesTheTrainingSizeAndDefaultsTopToTheClassCount(@TempDir Path tmp) throws Exception {
        Path file = writeModel(tmp, 64);
        Path image = ClassifyCommandTest.samples().resolve("chelsea.png");
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("classify", image.toString(), "--weights",
                file.toString(), "--device", "cpu", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode top = new ObjectMapper().readTree(r.out()).get("results").get(0).get("top");
        assertEquals(3, top.size(), "--top defaults to min(5, classes): " + r.out());

        // The logits are those of the image preprocessed at 64 px.
        try (ResNet m = ResNet.builder().weights(file).build()) {
            Tensor x = m.preprocess(ImageDecoder.decode(image));
            float[] logits = m.forward(x.reshape(1, 3, 64, 64)).data();
            for (JsonNode t : top) {
                assertEquals(logits[t.get("index").asInt()], t.get("logit").floatValue(), 1e-4f, t.toString());
            }
            // A .npy of the model's size classifies; one of the ImageNet size does not.
            Path ok = tmp.resolve("ok.npy"), wrong = tmp.resolve("wrong.npy");
            dev.jresnet.tensor.Npy.write(ok, x);
            dev.jresnet.tensor.Npy.write(wrong, Preset.TORCHVISION_V1.preprocess(ImageDecoder.decode(image)));
            ClassifyCommandTest.Run n = ClassifyCommandTest.run("classify", ok.toString(), wrong.toString(),
                    "--weights", file.toString(), "--device", "cpu");
            assertEquals(1, n.exit(), n.err());
            assertTrue(n.err().contains("wrong.npy") && n.err().contains("[3,64,64]"), n.err());
            assertTrue(!n.err().contains("ok.npy"), n.err());
        }

        ClassifyCommandTest.Run bad = ClassifyCommandTest.run("classify", image.toString(), "--weights",
                file.toString(), "--device", "cpu", "--top", "5");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("--top must be in 1..3"), bad.err());
    }
}
