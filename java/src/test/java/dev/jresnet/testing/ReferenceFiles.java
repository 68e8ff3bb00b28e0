package dev.jresnet.testing;

import java.io.IOException;
import java.nio.file.Path;

/** The PyTorch-written references (weights/reference/*.py), made once per test JVM. */
public final class ReferenceFiles {
    /** The architectures whose torch.onnx.export the family reference also writes: a basic-block and a grouped one. */
    public static final String ONNX_ARCHS = "resnet18,resnext50_32x4d";
    private static Path resnet50;
    private static Path family;

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

    /**
     * The folder with input.npy and, for every architecture of {@code dev.jresnet.graph.Architecture.KNOWN},
     * ARCH.pth, ARCH.logits.npy, ARCH.keys.txt, ARCH.params (weights/reference/family_reference.py), and ARCH.onnx
     * for those of {@link #ONNX_ARCHS}. About 2.5 GB; made once per run.
     */
    public static synchronized Path family() throws IOException {
        PyTorchReference.assumeAvailable();
        if (family == null) {
            Path dir = PyTorchReference.scratch("family");
            java.util.List<String> args = new java.util.ArrayList<>();
            args.add(dir.toString());
            for (dev.jresnet.graph.Architecture a : dev.jresnet.graph.Architecture.KNOWN) {
                args.add(a.id());
            }
            args.add("--onnx");
            args.add(ONNX_ARCHS);
            PyTorchReference.run("family_reference.py", args.toArray(new String[0]));
            family = dir;
        }
        return family;
    }
}
