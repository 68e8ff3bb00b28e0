package dev.jresnet.resnet;

import dev.jresnet.cli.Main;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.Variant;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PyTorchReference;
import dev.jresnet.testing.ReferenceFiles;
import dev.jresnet.testing.SetUpOnce;
import dev.jresnet.weights.PthReader;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole CPU network against PyTorch: same .pth (written by torch.save), same input, logits within
 * 1e-5 relative L2 and the same top-5. The reference is made at test time by weights/reference/resnet_reference.py.
 */
class ResNetPyTorchTest {
    static Path dir;
    static WeightSet weights;
    static Tensor input;

    private static final SetUpOnce SET_UP = new SetUpOnce(ResNetPyTorchTest::makeReference);

    /** Per test, not @BeforeAll: surefire shows a class-level skip as "0 tests", hiding the reason. */
    @BeforeEach
    void requireTorch() throws Exception {
        PyTorchReference.assumeAvailable();
        SET_UP.run();
    }

    private static void makeReference() throws IOException {
        dir = ReferenceFiles.resnet50();
        weights = PthReader.read(dir.resolve("resnet50_seeded.pth"));
        input = Npy.read(dir.resolve("input.npy"));
    }

    static ResNet model(Variant v) throws IOException {
        return ResNet.builder().weights(dir.resolve("resnet50_seeded.pth")).variant(v).device(Device.cpu()).build();
    }

    @Test
    void tensorNamesAndOrderMatchTorchvisionStateDict() throws IOException {
        List<String> expected = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("keys.txt"))) {
            String name = line.substring(0, line.indexOf(' '));
            if (!name.endsWith("num_batches_tracked")) {
                expected.add(line);
            }
        }
        List<String> ours = new ArrayList<>();
        new Network(Architecture.imagenet()).visitTensors((name, t, kind) ->
                ours.add(name + " " + t.shape().toString()));
        assertEquals(expected, ours);
    }

    @Test
    void v15LogitsMatchPyTorch() throws IOException {
        compare(Variant.V1_5, "logits_v15.npy");
    }

    @Test
    void v1LogitsMatchPyTorch() throws IOException {
        compare(Variant.V1, "logits_v1.npy");
    }

    private void compare(Variant v, String file) throws IOException {
        Tensor expected = Npy.read(dir.resolve(file));
        Tensor actual;
        try (ResNet m = model(v)) {
            actual = m.forward(input);
        }
        Errors e = Errors.of(actual, expected);
        System.out.printf("[reference] ResNet-50 %s CPU vs PyTorch 1.13, batch %d: %s%n", v.id(), input.dim(0), e);
        assertTrue(e.relL2() <= 1e-5, "relative L2 error " + e);
        for (int n = 0; n < expected.dim(0); n++) {
            assertArrayEquals(Errors.topK(expected, n, 5), Errors.topK(actual, n, 5), "top-5 of image " + n);
        }
    }

    @Test
    void cliClassifiesTheSameNpyInputAsPyTorch() throws Exception {
        java.io.StringWriter out = new java.io.StringWriter();
        picocli.CommandLine cl = Main.commandLine();
        cl.setOut(new java.io.PrintWriter(out));
        cl.setErr(new java.io.PrintWriter(new java.io.StringWriter()));
        int rc = cl.execute("classify", dir.resolve("input.npy").toString(), "--weights",
                dir.resolve("resnet50_seeded.pth").toString(), "--device", "cpu", "--json", "--top", "1000");
        assertEquals(0, rc);
        Tensor expected = Npy.read(dir.resolve("logits_v15.npy"));
        com.fasterxml.jackson.databind.JsonNode results =
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.toString()).get("results");
        assertEquals(2, results.size());
        for (int n = 0; n < 2; n++) {
            assertTrue(results.get(n).get("input").asText().endsWith("input.npy[" + n + "]"));
            com.fasterxml.jackson.databind.JsonNode top = results.get(n).get("top");
            assertEquals(Errors.topK(expected, n, 1)[0], top.get(0).get("index").asInt());
            for (com.fasterxml.jackson.databind.JsonNode t : top) {
                float ref = expected.data()[n * 1000 + t.get("index").asInt()];
                assertEquals(ref, t.get("logit").asDouble(), 1e-4 * Math.max(1, Math.abs(ref)) + 1e-3,
                        "logit of class " + t.get("index"));
            }
        }
    }

    @Test
    void convertedSafetensorsGiveIdenticalLogits() throws IOException {
        Path st = dir.resolve("resnet50_seeded.safetensors");
        int rc = Main.run("convert", dir.resolve("resnet50_seeded.pth").toString(), "--out", st.toString());
        assertEquals(0, rc);
        Tensor a;
        Tensor b;
        try (ResNet fromPth = model(Variant.V1_5); ResNet fromSt = ResNet.load(st, Device.cpu())) {
            assertEquals("torchvision-v1", fromSt.preset().id());
            assertEquals(Labels.imagenet(), fromSt.labels());
            Tensor one = input.reshape(2, 3, 224, 224);
            a = fromPth.forward(one);
            b = fromSt.forward(one);
        }
        assertArrayEquals(a.data(), b.data(), "f32 safetensors must reproduce the .pth logits bit for bit");
    }
}
