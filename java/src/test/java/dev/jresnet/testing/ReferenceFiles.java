package dev.jresnet.testing;

import java.io.IOException;
import java.nio.file.Path;

/** The PyTorch-written ResNet-50 reference (weights/reference/resnet_reference.py), made once per test JVM. */
public final class ReferenceFiles {
    private static Path resnet50;

    private ReferenceFiles() {}

    /** The folder with resnet50_seeded.pth, input.npy, logits_v15.npy, logits_v1.npy, keys.txt. */
    public static synchronized Path resnet50() throws IOException {
        PyTorchReference.assumeAvailable();
        if (resnet50 == null) {
            Path dir = PyTorchReference.scratch("resnet50");
            PyTorchReference.run("resnet_reference.py", dir.toString());
            resnet50 = dir;
        }
        return resnet50;
    }
}
