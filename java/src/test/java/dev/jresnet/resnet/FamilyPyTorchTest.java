package dev.jresnet.resnet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.cli.Main;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PyTorchReference;
import dev.jresnet.testing.ReferenceFiles;
import dev.jresnet.testing.SetUpOnce;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every architecture of the family against PyTorch 1.13 (weights/reference/family_reference.py): seeded torchvision
 * models with non-trivial batch norm, their .pth read by the CLI with the architecture recognised from the file,
 * logits within 1e-5 relative L2 and the same top-5; parameter counts and tensor names and shapes equal to
 * torchvision's; torch.onnx.export's graphs of a basic-block and a grouped architecture imported.
 */
class FamilyPyTorchTest {
    private static Path dir;
    private static Tensor input;

    private static final SetUpOnce SET_UP = new SetUpOnce(FamilyPyTorchTest::reference);

    /** Per test, not @BeforeAll: surefire shows a class-level skip as "0 tests", hiding the reason. */
    @BeforeEach
    void requireTorch() throws Exception {
        PyTorchReference.assumeAvailable();
        SET_UP.run();
    }

    private static void reference() throws Exception {
        dir = ReferenceFiles.family();
        input = Npy.read(dir.resolve("input.npy"));
    }

    static Stream<String> architectures() {
        return Architecture.KNOWN.stream().map(Architecture::id);
    }

    @ParameterizedTest
    @MethodSource("architectures")
    void logitsThroughTheCliWithTheArchitectureReadFromThePth(String arch) throws Exception {
        StringWriter out = new StringWriter(), err = new StringWriter();
        picocli.CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        long start = System.nanoTime();
        int rc = cl.execute("classify", dir.resolve("input.npy").toString(), "--weights",
                dir.resolve(arch + ".pth").toString(), "--device", "cpu", "--json", "--top", "1000");
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(0, rc, err.toString());
        JsonNode root = new ObjectMapper().readTree(out.toString());
        assertEquals(arch, root.get("architecture").asText(), "the architecture recognised from the .pth");
        assertTrue(err.toString().contains("(" + arch + ")"), err.toString());
        Tensor expected = Npy.read(dir.resolve(arch + ".logits.npy"));
        float[] actual = new float[1000];
        for (JsonNode t : root.get("results").get(0).get("top")) {
            actual[t.get("index").asInt()] = (float) t.get("logit").asDouble();
        }
        Tensor got = new Tensor(Shape.of(1, 1000), actual);
        Errors e = Errors.of(got, expected);
        System.out.printf("[reference] %s CPU (CLI, architecture from the .pth) vs PyTorch 1.13: %s (%.1f s)%n", arch,
                e, seconds);
        assertTrue(e.relL2() <= 1e-5, arch + ": " + e);
        assertArrayEquals(Errors.topK(expected, 0, 5), Errors.topK(got, 0, 5), arch + " top-5");
    }

    @ParameterizedTest
    @MethodSource("architectures")
    void parameterCountTensorNamesAndShapesAreTorchvisions(String arch) throws Exception {
        NetworkSpec spec = Architecture.of(arch).spec();
        assertEquals(Long.parseLong(Files.readString(dir.resolve(arch + ".params")).strip()), spec.parameterCount(),
                arch + " parameters");
        List<String> expected = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(arch + ".keys.txt"))) {
            if (!line.substring(0, line.indexOf(' ')).endsWith("num_batches_tracked")) {
                expected.add(line);
            }
        }
        List<String> ours = new ArrayList<>();
        new Network(Architecture.of(arch)).visitTensors((name, t, kind) -> ours.add(name + " " + t.shape()));
        assertEquals(expected, ours, arch + ": names, shapes and state_dict order");
    }

    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "resnext50_32x4d"})
    void torchOnnxExportImportsWithItsArchitecture(String arch) throws Exception {
        Tensor expected = Npy.read(dir.resolve(arch + ".logits.npy"));
        try (ResNet m = ResNet.load(dir.resolve(arch + ".onnx"), Device.cpu())) {
            assertEquals(arch, m.architecture().id(), "recognised from the Conv nodes");
            Errors e = Errors.of(m.forward(input), expected);
            System.out.printf("[reference] %s from torch.onnx.export (batch norm folded) vs PyTorch: %s%n", arch, e);
            assertTrue(e.relL2() <= 1e-5, arch + ": " + e);
        }
    }

    @Test
    void aConvertedGroupedModelGivesIdenticalLogits() throws Exception {
        Path st = dir.resolve("resnext50_32x4d.safetensors");
        assertEquals(0, Main.run("convert", dir.resolve("resnext50_32x4d.pth").toString(), "--out", st.toString()));
        try (ResNet a = ResNet.load(dir.resolve("resnext50_32x4d.pth"), Device.cpu());
             ResNet b = ResNet.load(st, Device.cpu())) {
            assertEquals(Architecture.RESNEXT50_32X4D.id(), b.architecture().id(), "from the metadata");
            assertArrayEquals(a.forward(input).data(), b.forward(input).data());
        }
    }
}
