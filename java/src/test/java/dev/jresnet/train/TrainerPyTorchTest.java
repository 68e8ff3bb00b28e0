package dev.jresnet.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.Difference;
import dev.jresnet.testing.PyTorchReference;
import dev.jresnet.weights.PthReader;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.PrintWriter;
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
 * architecture, partly and wholly unfrozen. Each quantity has its own bound, a few times its measured error:
 * the logits, the loss, the updated running statistics, and the gradient of every trainable parameter.
 *
 * <p>Two fixtures (see the script). The "forced" one keeps every ReLU input far from 0, so each ReLU channel is all
 * on or all off: float32 rounding cannot flip a mask and the gradients are compared at their tightest, but masks
 * never vary across positions and some gradients are exactly 0 in exact arithmetic (every bottleneck bn2.bias,
 * most bn3.bias, the downsample and stem BN biases: 33 of resnet50's 161). The "ordinary_*" variants use
 * BatchNorm parameters like a network's: almost every ReLU channel is on at some positions and off at others,
 * and those gradients are not 0, so a missing one fails.
 */
class TrainerPyTorchTest {
    /**
     * The bounds of one kind of variant, each a few times the worst error measured over its variants (torch 1.13,
     * 2 threads): the logits' relative L2 error, the loss's relative error, the running statistics' relative L2
     * error after the step (0: bit for bit), and each non-vanishing gradient's relative L2 error.
     */
    record Bounds(double logits, double loss, double runningStats, double gradients) {}

    /**
     * Measured: logits 9.4e-7 (resnet50 layer4), loss 2.3e-7, running statistics unchanged bit for bit, gradients
     * 4.9e-5 (resnet50 and resnext50 layer4.2.bn1.weight).
     */
    static final Bounds FORCED_FROZEN_BN = new Bounds(5e-6, 2e-6, 0, 2e-4);
    /**
     * Measured: logits 8.7e-7, loss 3.8e-7 (resnet50 layer4), running statistics 1.5e-6, gradients 1.1e-3. The
     * batch statistics cancel most of a gradient (its input gradient sums to ~0 per channel), so the smallest
     * gradients are small differences of large sums, and the same absolute float32 rounding (~2e-8 there) is a larger
     * fraction of them: the worst is resnet18 layer3.1.bn2.bias (largest |g| 1.8e-5, abs error 1.9e-8); the worst of
     * a large gradient 5.6e-4 (resnet50 layer4.0.downsample.0.weight).
     */
    static final Bounds FORCED_TRAIN_BN = new Bounds(5e-6, 2e-6, 1e-5, 5e-3);
    /** Measured (resnet18): logits 5.1e-6, loss 3.8e-7, running statistics unchanged bit for bit, gradients 5.0e-6. */
    static final Bounds ORDINARY_FROZEN_BN = new Bounds(3e-5, 2e-6, 0, 3e-5);
    /**
     * Measured (resnet50): logits 1.9e-4, loss 1.6e-5, running statistics 2.4e-5, gradients 7.5e-4
     * (layer1.2.bn1.weight). Larger than the forced fixture's because the network amplifies float32 rounding: with
     * ReLU masks that vary across positions, each train-mode BatchNorm layer multiplies a perturbation by ~1.15 (50
     * of them), as torch shows against itself: its own float32 logits differ from float64's by 2.5e-4 here (layer2
     * 3e-6, layer3.5 5.5e-5, layer4.2 2.7e-4). With fixed masks (the forced fixture) or eval-mode BatchNorm nothing
     * grows.
     */
    static final Bounds ORDINARY_TRAIN_BN = new Bounds(1e-3, 1e-4, 1.5e-4, 5e-3);
    /**
     * A gradient whose largest torch value is below this is 0 in exact arithmetic: in the forced fixture the shift
     * of a BatchNorm followed (through a ReLU that passes it unchanged and a 1x1 convolution) by a training-mode
     * BatchNorm has gradient exactly 0 (the next batch mean absorbs it). Measured: those 33 of resnet50's 161 reach
     * at most 3.9e-8 in torch, the smallest other gradient 1.8e-5.
     */
    static final double VANISHING_BELOW = 1e-6;
    /**
     * The absolute bound on a vanishing gradient's difference from torch's: measured at most 7.6e-8 (resnet50
     * layer3.3.bn3.bias). A missing (zero) gradient therefore fails wherever torch's exceeds it.
     */
    static final double VANISHING_ABS = 5e-7;
    /**
     * The smallest |ReLU input| any fixture may have, so that no mask can differ between the two implementations:
     * their activations differ by ~1e-6, at most ~2e-4 relative (ordinary_all_trainbn's last layers, values of
     * order 1). Measured: forced >= 0.15, ordinary >= 4.8e-3.
     */
    static final double KINK_MARGIN = 1e-3;

    /** One line of variants.txt. */
    record Variant(String name, Unfreeze unfreeze, boolean trainBn, float smoothing, double loss, String model,
                   double mixed, double smallest) {
        static Variant parse(String line) {
            String[] f = line.strip().split(" ");
            return new Variant(f[0], Unfreeze.parse(f[1]), Boolean.parseBoolean(f[2].toLowerCase(Locale.ROOT)),
                    Float.parseFloat(f[3]), Double.parseDouble(f[4]), f[5], Double.parseDouble(f[6]),
                    Double.parseDouble(f[7]));
        }

        boolean ordinary() {
            return name.startsWith("ordinary_");
        }
    }

    private static final Map<String, Path> DIRS = new HashMap<>();
    private static final Map<String, Map<String, Variant>> VARIANTS = new HashMap<>();

    @BeforeEach
    void torch() {
        PyTorchReference.assumeAvailable();
    }

    /** The reference files of {@code arch}, made once per run. */
    private static synchronized Path reference(String arch) throws IOException {
        Path dir = DIRS.get(arch);
        if (dir == null) {
            dir = PyTorchReference.scratch("grad-" + arch);
            PyTorchReference.run("grad_reference.py", dir.toString(), arch);
            Map<String, Variant> variants = new HashMap<>();
            for (String line : Files.readAllLines(dir.resolve("variants.txt"))) {
                Variant v = Variant.parse(line);
                variants.put(v.name(), v);
            }
            DIRS.put(arch, dir);
            VARIANTS.put(arch, variants);
        }
        return dir;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"resnet50,layer4_trainbn", "resnet50,layer4_frozenbn", "resnet50,all_trainbn",
            "resnet50,ordinary_all_trainbn",
            "resnet18,layer3_frozenbn", "resnet18,all_trainbn", "resnet18,ordinary_all_frozenbn",
            "resnext50_32x4d,layer4_frozenbn", "resnext50_32x4d,all_trainbn"})
    void gradientsMatchTorch(String arch, String variant) throws Exception {
        Path dir = reference(arch);
        Variant v = VARIANTS.get(arch).get(variant);

        Network graph = new Network(Architecture.of(arch).withClasses(5));
        WeightBinding.load(graph, PthReader.read(dir.resolve(v.model())));
        Trainer<Tensor> net = Trainer.cpu(graph, v.unfreeze(), v.trainBn(), new Sgd(0f, 0f, false), 0f, 0f);
        Tensor x = Npy.read(dir.resolve("input.npy"));
        float[] t = Npy.read(dir.resolve("targets.npy")).data();
        int[] targets = new int[t.length];
        for (int i = 0; i < t.length; i++) {
            targets[i] = Math.round(t[i]);
        }

        long start = System.nanoTime();
        Tensor logits = net.forwardTrain(x, false);
        Tensor dLogits = Tensor.zeros(logits.shape());
        float loss = CpuGrads.softmaxCrossEntropy(dLogits, logits, targets, v.smoothing());
        net.backward(dLogits);
        double seconds = (System.nanoTime() - start) / 1e9;

        Bounds bounds = v.ordinary() ? (v.trainBn() ? ORDINARY_TRAIN_BN : ORDINARY_FROZEN_BN)
                : (v.trainBn() ? FORCED_TRAIN_BN : FORCED_FROZEN_BN);
        List<String> report = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        report.add(String.format(Locale.ROOT, "ReLU masks varying across positions %.1f%%, smallest |input| %.1e",
                100 * v.mixed(), v.smallest()));
        // The fixture does what it is for: the forced one never varies a mask, the ordinary one nearly always does.
        check(failures, v.ordinary() ? v.mixed() >= 0.95 : v.mixed() == 0, "ReLU masks varying " + v.mixed());
        check(failures, v.smallest() >= KINK_MARGIN, "ReLU input " + v.smallest() + " near the kink");
        Difference dl = Difference.of(logits.data(), Npy.read(dir.resolve(variant + ".logits.npy")).data());
        report.add(String.format(Locale.ROOT, "logits rel L2 %.2e", dl.relL2()));
        check(failures, dl.relL2() <= bounds.logits(), "logits");
        double lossErr = Math.abs(loss - v.loss()) / Math.abs(v.loss());
        report.add(String.format(Locale.ROOT, "loss %.7f vs torch %.7f (rel %.1e)", loss, v.loss(), lossErr));
        check(failures, lossErr <= bounds.loss(), "loss");

        Set<String> expectedNames = new TreeSet<>();
        String prefix = variant + ".grad.";
        try (var files = Files.list(dir)) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix))
                    .forEach(n -> expectedNames.add(n.substring(prefix.length(), n.length() - 4)));
        }
        Set<String> actualNames = new TreeSet<>();
        double worstGrad = 0, worstVanishing = 0;
        int vanishing = 0;
        String worstName = "", worstVanishingName = "";
        PrintWriter dump = dump(arch, variant);
        for (Param<Tensor> p : net.parameters()) {
            actualNames.add(p.name());
            Difference d = Difference.of(p.grad().data(), Npy.read(dir.resolve(prefix + p.name() + ".npy")).data());
            if (dump != null) {
                dump.printf(Locale.ROOT, "%s,%s,%s,%d,%.4e,%.4e,%.4e,%.4e,%.4e%n", arch, variant, p.name(), d.size(),
                        d.referenceNorm(), d.referenceMax(), d.errorNorm(), d.errorMax(), d.relL2());
            }
            if (d.referenceMax() < VANISHING_BELOW) {
                vanishing++;
                if (!(d.errorMax() <= worstVanishing)) {
                    worstVanishing = d.errorMax();
                    worstVanishingName = p.name();
                }
                check(failures, d.errorMax() <= VANISHING_ABS, "vanishing gradient of " + p.name() + " (max |torch| "
                        + d.referenceMax() + "): max abs error " + d.errorMax());
            } else {
                if (!(d.relL2() <= worstGrad)) {
                    worstGrad = d.relL2();
                    worstName = p.name();
                }
                check(failures, d.relL2() <= bounds.gradients(), "gradient of " + p.name() + ": rel L2 " + d.relL2());
            }
        }
        if (dump != null) {
            dump.close();
        }
        assertEquals(expectedNames, actualNames, "the trainable parameters are exactly those torch gives a gradient");
        report.add(String.format(Locale.ROOT, "%d gradients: worst rel L2 %.2e (%s); %d vanishing (max |torch| < "
                        + "%.0e): worst abs error %.2e (%s)", actualNames.size(), worstGrad, worstName, vanishing,
                VANISHING_BELOW, worstVanishing, worstVanishingName));
        // Only the forced fixture has gradients that are 0 in exact arithmetic; the ordinary one must compare all.
        check(failures, !v.ordinary() || vanishing == 0, vanishing + " vanishing gradients in an ordinary fixture");

        Map<String, Tensor> buffers = new HashMap<>();
        graph.visitTensors((name, tensor, kind) -> buffers.put(name, tensor));
        String after = variant + ".after.";
        double worstStat = 0;
        int stats = 0;
        try (var files = Files.list(dir)) {
            for (Path p : files.filter(p -> p.getFileName().toString().startsWith(after)).toList()) {
                String name = p.getFileName().toString();
                name = name.substring(after.length(), name.length() - 4);
                double e = Difference.of(buffers.get(name).data(), Npy.read(p).data()).relL2();
                worstStat = Math.max(worstStat, e);
                stats++;
            }
        }
        report.add(String.format(Locale.ROOT, "%d running statistics after the step: worst rel L2 %.2e", stats,
                worstStat));
        check(failures, stats > 0 && worstStat <= bounds.runningStats(), "running statistics");
        System.out.printf(Locale.ROOT, "%s %s vs torch (forward+backward %.2f s): %s%n", arch, variant, seconds,
                String.join("; ", report));
        assertTrue(failures.isEmpty(), arch + " " + variant + ": " + failures + "\n" + report);
    }

    private static void check(List<String> failures, boolean ok, String what) {
        if (!ok) {
            failures.add(what);
        }
    }

    /**
     * With JRESNET_DEBUG_GRADS=DIR, each variant's numbers per gradient (size, torch's L2 norm and largest |g|, the
     * error's L2 norm and largest |e|, relative L2) as DIR/ARCH-VARIANT.csv: how the bounds above were measured.
     */
    private static PrintWriter dump(String arch, String variant) throws IOException {
        String d = System.getenv("JRESNET_DEBUG_GRADS");
        if (d == null) {
            return null;
        }
        return new PrintWriter(Files.newBufferedWriter(Path.of(d, arch + "-" + variant + ".csv")));
    }
}
