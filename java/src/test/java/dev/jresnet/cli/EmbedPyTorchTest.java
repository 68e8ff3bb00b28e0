package dev.jresnet.cli;

import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PyTorchReference;
import dev.jresnet.testing.ReferenceFiles;
import dev.jresnet.testing.TestNets;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code jresnet embed} against PyTorch: the same seeded resnet50 .pth (weights/reference/resnet_reference.py), the
 * same sample photos decoded and preprocessed by PIL + torchvision (weights/reference/embed_reference.py); pool must be
 * torchvision's model with fc = Identity, layer3 its layer3 output averaged over H and W, each row within 1e-5
 * relative L2.
 */
class EmbedPyTorchTest {
    private static final List<String> PHOTOS = List.of("chelsea.png", "coffee.png", "rocket.jpg");

    @Test
    void poolAndLayer3MatchTorchvision() throws IOException {
        Path pth = ReferenceFiles.resnet50().resolve("resnet50_seeded.pth");
        Path dir = PyTorchReference.scratch("embed");
        List<String> args = new ArrayList<>(List.of(pth.toString(), dir.toString()));
        PHOTOS.forEach(p -> args.add(ClassifyCommandTest.samples().resolve(p).toString()));
        PyTorchReference.run("embed_reference.py", args.toArray(new String[0]));

        List<String> cli = new ArrayList<>(List.of("embed"));
        PHOTOS.forEach(p -> cli.add(ClassifyCommandTest.samples().resolve(p).toString()));
        cli.addAll(List.of("--weights", pth.toString(), "--device", "cpu", "--out"));
        for (String layer : List.of("pool", "layer3")) {
            Path out = dir.resolve("jresnet-" + layer + ".npy");
            Files.deleteIfExists(out);
            List<String> run = new ArrayList<>(cli);
            run.addAll(List.of(out.toString(), "--layer", layer));
            ClassifyCommandTest.Run r = ClassifyCommandTest.run(run.toArray(new String[0]));
            assertEquals(0, r.exit(), r.err());
            Tensor ours = Npy.read(out);
            Tensor torch = Npy.read(dir.resolve(layer + ".npy"));
            assertArrayEquals(torch.shape().dims(), ours.shape().dims(), layer);
            int d = torch.dim(1);
            assertEquals(layer.equals("pool") ? 2048 : 1024, d);
            for (int i = 0; i < PHOTOS.size(); i++) {
                float[] a = Arrays.copyOfRange(ours.data(), i * d, (i + 1) * d);
                float[] b = Arrays.copyOfRange(torch.data(), i * d, (i + 1) * d);
                double rel = TestNets.relL2(a, b);
                System.out.printf("[reference] embed %s %s vs torchvision: relative L2 %.3g%n", layer, PHOTOS.get(i),
                        rel);
                assertTrue(rel <= 1e-5, layer + " of " + PHOTOS.get(i) + ": relative L2 " + rel);
            }
        }
    }
}
