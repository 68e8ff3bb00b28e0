package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.Variant;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PyTorchReference;
import dev.jresnet.testing.TestNets;
import dev.jresnet.weights.PthReader;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One training step of the Trainer against torch 1.13 autograd (weights/reference/grad_reference.py):
 * torchvision's resnet50 with a 5-class fc on a [2,3,64,64] input, layer4 unfrozen with BatchNorm in train or
 * eval mode, and everything unfrozen in train mode; and a basic-block (resnet18) and a grouped (resnext50_32x4d)
 * architecture, partly and wholly unfrozen. Loss, logits, the gradient of every trainable parameter and
 * the updated running statistics agree to a relative L2 error of at most 2e-4 per tensor with frozen batch norm,
 * 2e-3 with training-mode batch norm (see the TOLERANCE constants).
 * The reference keeps every ReLU input far from 0 (see the script), so float32 rounding never flips a mask.
 */
class TrainerPyTorchTest {
    /**
     * With frozen batch norm every gradient agrees to ~5e-5 (measured worst 4.9e-5, resnet50 layer4.2.bn1.weight).
     */
    private static final double TOLERANCE_FROZEN_BN = 2e-4;
    /**
     * With training-mode batch norm the batch statistics cancel most of a gradient (its input gradient sums to ~0 per
     * channel), so some gradients are small differences of large sums and the same absolute float32 rounding (max
     * ~3e-6 everywhere) is a larger fraction of them: measured worst 1.1e-3 (resnet18 layer3.1.bn2.bias, absolute
     * 7e-7), 5.6e-4 (resnet50 layer4.0.downsample.0.weight).
     */
    private static final double TOLERANCE_TRAIN_BN = 2e-3;
    /**
     * A gradient whose largest torch value is below this is zero up to rounding: with every ReLU of the reference
     * all-pass or dead, the shift of a BatchNorm followed (through a convolution) by a training-mode BatchNorm
     * has gradient exactly 0 (the next batch mean absorbs it). Relative error means nothing there, so those are
     * judged by absolute error against this bound.
     */
    private static final double VANISHING = 1e-5;
    private static final Map<String, Path> DIRS = new HashMap<>();
    private static final Map<String, Map<String, String[]>> VARIANTS = new HashMap<>();

    /** The reference files of {@code arch}, made once per run. */
    private static synchronized Path reference(String arch) throws Exception {
        PyTorchReference.assumeAvailable();
        Path dir = DIRS.get(arch);
        if (dir == null) {
            dir = PyTorchReference.scratch("grad-" + arch);
            PyTorchReference.run("grad_reference.py", dir.toString(), arch);
            Map<String, String[]> variants = new HashMap<>();
            for (String line : Files.readAllLines(dir.resolve("variants.txt"))) {
                String[] f = line.strip().split(" ");
                variants.put(f[0], f);
            }
            DIRS.put(arch, dir);
            VARIANTS.put(arch, variants);
        }
        return dir;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"resnet50,layer4_trainbn", "resnet50,layer4_frozenbn", "resnet50,all_trainbn",
            "resnet18,layer3_frozenbn", "resnet18,all_trainbn",
            "resnext50_32x4d,layer4_frozenbn", "resnext50_32x4d,all_trainbn"})
    void gradientsMatchTorch(String arch, String variant) throws Exception {
        Path dir = reference(arch);
        String[] v = VARIANTS.get(arch).get(variant);
        Unfreeze unfreeze = Unfreeze.parse(v[1]);
        boolean trainBn = Boolean.parseBoolean(v[2].toLowerCase(Locale.ROOT));
        float smoothing = Float.parseFloat(v[3]);
        double torchLoss = Double.parseDouble(v[4]);

        Network graph = new Network(Architecture.of(arch).withClasses(5));
        WeightSet weights = PthReader.read(dir.resolve("model.pth"));
        WeightBinding.load(graph, weights);
        Trainer<Tensor> net = Trainer.cpu(graph, unfreeze, trainBn, new Sgd(0f, 0f, false), 0f, 0f);
        Tensor x = Npy.read(dir.resolve("input.npy"));
        float[] t = Npy.read(dir.resolve("targets.npy")).data();
        int[] targets = new int[t.length];
        for (int i = 0; i < t.length; i++) {
            targets[i] = Math.round(t[i]);
        }

        long start = System.nanoTime();
        Tensor logits = net.forwardTrain(x, false);
        Tensor dLogits = Tensor.zeros(logits.shape());
        float loss = CpuGrads.softmaxCrossEntropy(dLogits, logits, targets, smoothing);
        net.backward(dLogits);
        double seconds = (System.nanoTime() - start) / 1e9;

        List<String> report = new ArrayList<>();
        double worst = TestNets.relL2(logits.data(), Npy.read(dir.resolve(variant + ".logits.npy")).data());
        report.add(String.format(Locale.ROOT, "logits rel L2 %.2e", worst));
        double lossErr = Math.abs(loss - torchLoss) / Math.abs(torchLoss);
        report.add(String.format(Locale.ROOT, "loss %.7f vs torch %.7f (rel %.1e)", loss, torchLoss, lossErr));
        worst = Math.max(worst, lossErr);

        Set<String> expectedNames = new TreeSet<>();
        String prefix = variant + ".grad.";
        try (var files = Files.list(dir)) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix))
                    .forEach(n -> expectedNames.add(n.substring(prefix.length(), n.length() - 4)));
        }
        Set<String> actualNames = new TreeSet<>();
        double worstGrad = 0, maxAbs = 0, worstVanishing = 0;
        int vanishing = 0;
        String worstName = "";
        for (Param<Tensor> p : net.parameters()) {
            actualNames.add(p.name());
            float[] expected = Npy.read(dir.resolve(prefix + p.name() + ".npy")).data();
            double largest = 0, abs = 0;
            for (int i = 0; i < expected.length; i++) {
                largest = Math.max(largest, Math.abs(expected[i]));
                abs = Math.max(abs, Math.abs(expected[i] - p.grad().data()[i]));
            }
            maxAbs = Math.max(maxAbs, abs);
            if (largest < VANISHING) {
                vanishing++;
                worstVanishing = Math.max(worstVanishing, abs);
                continue;
            }
            double e = TestNets.relL2(p.grad().data(), expected);
            if (System.getenv("JRESNET_DEBUG_GRADS") != null) {
                System.out.printf("  %s %s rel L2 %.2e%n", variant, p.name(), e);
            }
            if (e > worstGrad) {
                worstGrad = e;
                worstName = p.name();
            }
        }
        assertEquals(expectedNames, actualNames, "the trainable parameters are exactly those torch gives a gradient");
        report.add(String.format(Locale.ROOT, "%d parameter gradients: worst rel L2 %.2e (%s), max abs %.2e; "
                        + "%d vanishing (max |torch| < %.0e) within %.2e absolute",
                actualNames.size(), worstGrad, worstName, maxAbs, vanishing, VANISHING, worstVanishing));
        worst = Math.max(worst, worstGrad);
        assertTrue(worstVanishing <= VANISHING, variant + ": " + report);

        Map<String, Tensor> buffers = new HashMap<>();
        graph.visitTensors((name, tensor, kind) -> buffers.put(name, tensor));
        String after = variant + ".after.";
        double worstStat = 0;
        int stats = 0;
        try (var files = Files.list(dir)) {
            for (Path p : files.filter(p -> p.getFileName().toString().startsWith(after)).toList()) {
                String name = p.getFileName().toString();
                name = name.substring(after.length(), name.length() - 4);
                worstStat = Math.max(worstStat, TestNets.relL2(buffers.get(name).data(), Npy.read(p).data()));
                stats++;
            }
        }
        report.add(String.format(Locale.ROOT, "%d running statistics after the step: worst rel L2 %.2e", stats, worstStat));
        worst = Math.max(worst, worstStat);
        System.out.printf(Locale.ROOT, "%s %s vs torch (forward+backward %.2f s): %s%n", arch, variant, seconds,
                String.join("; ", report));
        assertTrue(worst <= (trainBn ? TOLERANCE_TRAIN_BN : TOLERANCE_FROZEN_BN), arch + " " + variant + ": " + report);
    }
}
