package dev.jresnet.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.jresnet.cli.Main;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PyTorchReference;
import dev.jresnet.testing.ReferenceFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static dev.jresnet.testing.TestNets.relL2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ONNX export through ONNX Runtime and onnx.checker, and import of torch.onnx.export's folded graph. */
class OnnxTest {
    static float[] onnxRuntime(Path model, Tensor input) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession s = env.createSession(model.toString(), opts);
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.data()),
                         Arrays.stream(input.shape().dims()).asLongStream().toArray());
                 OrtSession.Result r = s.run(Map.of("input", in))) {
                FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                float[] out = new float[fb.remaining()];
                fb.get(out);
                return out;
            }
        }
    }

    @Test
    void exportedModelRunsInOnnxRuntimeWithPyTorchsLogits(@TempDir Path tmp) throws Exception {
        Path ref = ReferenceFiles.resnet50();
        Path onnx = tmp.resolve("resnet50.onnx");
        assertEquals(0, Main.run("export", "--weights", ref.resolve("resnet50_seeded.pth").toString(), "--out",
                onnx.toString()));
        String check = PyTorchReference.run("onnx_reference.py", "check", onnx.toString());
        assertTrue(check.contains("ok opset 13") && check.contains("'N'"), check);
        Tensor input = Npy.read(ref.resolve("input.npy"));
        float[] ort = onnxRuntime(onnx, input);
        float[] torch = Npy.read(ref.resolve("logits_v15.npy")).data();
        double e = relL2(ort, torch);
        System.out.printf("[reference] ONNX Runtime on jresnet's export vs PyTorch: relative L2 %.3g%n", e);
        assertTrue(e <= 1e-5, "ORT vs PyTorch relative L2 " + e);
        float[] ours;
        try (ResNet m = ResNet.load(ref.resolve("resnet50_seeded.pth"), Device.cpu())) {
            ours = m.forward(input).data();
        }
        double e2 = relL2(ours, ort);
        System.out.printf("[reference] jresnet CPU vs ONNX Runtime: relative L2 %.3g%n", e2);
        assertTrue(e2 <= 1e-5, "jresnet vs ORT relative L2 " + e2);
        // And back: importing our own export reproduces the weights exactly.
        try (ResNet a = ResNet.load(ref.resolve("resnet50_seeded.pth"), Device.cpu());
             ResNet b = ResNet.load(onnx, Device.cpu())) {
            Tensor x = input.reshape(2, 3, 224, 224);
            assertTrue(Arrays.equals(a.forward(x).data(), b.forward(x).data()), "export/import round trip");
        }
    }

    @Test
    void torchOnnxExportWithFoldedBatchNormImports(@TempDir Path tmp) throws Exception {
        Path ref = ReferenceFiles.resnet50();
        Path onnx = tmp.resolve("torch.onnx");
        String log = PyTorchReference.run("onnx_reference.py", "export", ref.resolve("resnet50_seeded.pth").toString(),
                onnx.toString());
        assertTrue(!log.contains("BatchNormalization"), "expected torch to fold BatchNorm: " + log);
        Tensor input = Npy.read(ref.resolve("input.npy"));
        float[] torch = Npy.read(ref.resolve("logits_v15.npy")).data();
        try (ResNet m = ResNet.load(onnx, Device.cpu())) {
            double e = relL2(m.forward(input).data(), torch);
            System.out.printf("[reference] jresnet on torch.onnx.export's folded weights vs PyTorch: relative L2 %.3g%n", e);
            assertTrue(e <= 1e-5, "relative L2 " + e);
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"resnet18", "resnext50_32x4d"})
    void basicAndGroupedArchitecturesExportToOnnxRuntimeAndBack(String arch, @TempDir Path tmp) throws Exception {
        Path fam = ReferenceFiles.family();
        Path onnx = tmp.resolve(arch + ".onnx");
        assertEquals(0, Main.run("export", "--weights", fam.resolve(arch + ".pth").toString(), "--out",
                onnx.toString()));
        String check = PyTorchReference.run("onnx_reference.py", "check", onnx.toString());
        assertTrue(check.contains("ok opset 13"), check);
        Tensor input = Npy.read(fam.resolve("input.npy"));
        float[] torch = Npy.read(fam.resolve(arch + ".logits.npy")).data();
        double e = relL2(onnxRuntime(onnx, input), torch);
        System.out.printf("[reference] ONNX Runtime on jresnet's %s export vs PyTorch: relative L2 %.3g%n", arch, e);
        assertTrue(e <= 1e-5, arch + ": ORT vs PyTorch relative L2 " + e);
        try (ResNet a = ResNet.load(fam.resolve(arch + ".pth"), Device.cpu()); ResNet b = ResNet.load(onnx, Device.cpu())) {
            assertEquals(arch, b.architecture().id());
            assertTrue(Arrays.equals(a.forward(input).data(), b.forward(input).data()), arch + " export/import round trip");
        }
    }

    @Test
    void truncatedOrForeignFilesAreClearErrors(@TempDir Path tmp) throws Exception {
        Path junk = tmp.resolve("junk.onnx");
        Files.write(junk, new byte[] {0x0a, (byte) 0xff, (byte) 0xff, 0x7f, 1, 2});
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxImporter.read(junk));
        assertTrue(e.getMessage().contains("junk.onnx"), e.getMessage());
        Path empty = tmp.resolve("empty.onnx");
        Files.write(empty, new byte[0]);
        e = assertThrows(OnnxFormatException.class, () -> OnnxImporter.read(empty));
        assertTrue(e.getMessage().contains("empty.onnx") && e.getMessage().contains("no graph"), e.getMessage());
    }
}
