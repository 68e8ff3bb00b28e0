package dev.jresnet.testing;

import dev.jresnet.cuda.NetworkPlan;
import dev.jresnet.graph.CpuReference;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Measures what {@link Tolerances} is built from (not a test: about 15 minutes on 2 cores at 224): how far equally
 * valid roundings of one precision lie from the reference ({@link PrecisionReference} with {@link Summation#GEMM}),
 * per op (the shapes of {@code GpuOpsGpuTest}) and for the logits and features of every GPU test's network and input,
 * beside the distance to exact fp32 and that of the planted faults of {@link PlantedFaults}. Run from {@code java/}
 * after {@code mvn -o -q test-compile} and, once, {@code mvn -o -q dependency:build-classpath
 * -Dmdep.outputFile=target/cp.txt}:
 * <pre>
 *   java --add-modules jdk.incubator.vector -Xmx10g -cp target/test-classes:target/classes:$(cat target/cp.txt) \
 *       dev.jresnet.testing.PrecisionNoise [SIZE [BATCH [ops|net [FIXTURE]]]]
 * </pre>
 * SIZE 224 and BATCH 2 by default (the GPU test's resnet50 runs batch 4); "net" skips the ops; FIXTURE is one
 * fixture's name, e.g. "resnet50 random BN".
 */
public final class PrecisionNoise {
    private PrecisionNoise() {}

    public static void main(String[] args) {
        int size = args.length > 0 ? Integer.parseInt(args[0]) : 224;
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        if (args.length < 3 || args[2].equals("ops")) {
            ops();
        }
        network(size, batch, args.length > 3 ? args[3] : null);
    }

    static void ops() {
        for (Precision p : List.of(Precision.FP16, Precision.TF32)) {
            PrecisionOps ref = PrecisionOps.of(p);
            double worst = 0;
            SplittableRandom r = new SplittableRandom(1);
            for (GpuConvCase cc : GpuConvCase.ALL) {
                Tensor x = cc.input(r);
                Tensor w = cc.weight(r);
                Tensor b = TestNets.random(r, 0.5, cc.k());
                Tensor want = ref.conv2dBiasRelu(x, w, b, null, cc.stride(), cc.pad(), cc.groups(), true, true);
                Tensor exact = exactConvBiasRelu(x, w, b, cc);
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s op %s: vs fp32 %.2e", p, cc,
                        TestNets.relL2(want.data(), exact.data())));
                for (Summation s : Summation.values()) {
                    if (s != Summation.GEMM) {
                        Tensor got = new PrecisionOps(p, s, GpuRounding.Tf32.NEAREST).conv2dBiasRelu(x, w, b, null,
                                cc.stride(), cc.pad(), cc.groups(), true, true);
                        double e = TestNets.relL2(got.data(), want.data());
                        worst = Math.max(worst, e);
                        line.append(String.format(Locale.ROOT, ", %s %.2e", s, e));
                    }
                }
                Tensor other = (p == Precision.FP16
                        ? ref.conv2dBiasRelu(x, w, b, null, cc.stride(), cc.pad(), cc.groups(), false, true)
                        : new PrecisionOps(p, Summation.GEMM, GpuRounding.Tf32.TRUNCATE).conv2dBiasRelu(x, w, b, null,
                        cc.stride(), cc.pad(), cc.groups(), true, true));
                line.append(String.format(Locale.ROOT, ", %s %.2e", p == Precision.FP16 ? "unfused" : "truncated",
                        TestNets.relL2(other.data(), want.data())));
                System.out.println(line);
            }
            Tensor feats = TestNets.random(r, 2, 3, 2048, 7, 7);
            Tensor fw = TestNets.random(r, 0.02, 1000, 2048), fb = TestNets.random(r, 0.1, 1000);
            Tensor want = ref.linear(ref.globalAvgPool(feats), fw, fb);
            for (Summation s : Summation.values()) {
                PrecisionOps o = new PrecisionOps(p, s, GpuRounding.Tf32.NEAREST);
                double e = TestNets.relL2(o.linear(o.globalAvgPool(feats), fw, fb).data(), want.data());
                worst = Math.max(worst, e);
                System.out.printf(Locale.ROOT, "%s op pool + linear %s: %.2e%n", p, s, e);
            }
            System.out.printf(Locale.ROOT, "%s ops: worst summation difference %.2e%n", p, worst);
        }
    }

    private static Tensor exactConvBiasRelu(Tensor x, Tensor w, Tensor b, GpuConvCase cc) {
        Tensor y = Tensor.zeros(cc.n(), cc.k(), (cc.h() + 2 * cc.pad() - cc.r()) / cc.stride() + 1,
                (cc.h() + 2 * cc.pad() - cc.r()) / cc.stride() + 1);
        dev.jresnet.cpu.CpuOps.conv2dBiasRelu(y, x, w, b, null, cc.stride(), cc.pad(), cc.groups());
        return y;
    }

    /** A GPU test's network and input. */
    record Fixture(String name, Network net, Tensor x, List<Precision> precisions, boolean full) {}

    static List<Fixture> fixtures(int size, int batch) {
        List<Precision> both = List.of(Precision.FP16, Precision.TF32);
        Tensor photos = photos(size);
        return List.of(
                // CudaResNetGpuTest (wholeNetworkMatchesCpu and friends): batch 4 in the test
                new Fixture("resnet50 random BN", TestNets.randomBnGraph(2024), TestNets.randomInput(batch, size, 9),
                        List.of(Precision.FP16, Precision.TF32, Precision.FP32), true),
                // CudaResNetGpuTest.otherArchitecturesMatchCpu
                new Fixture("resnext50_32x4d random BN", TestNets.randomBn(Architecture.of("resnext50_32x4d"), 77),
                        TestNets.randomInput(2, size, 3), List.of(Precision.FP16), false),
                new Fixture("wide_resnet50_2 random BN", TestNets.randomBn(Architecture.of("wide_resnet50_2"), 77),
                        TestNets.randomInput(2, size, 3), List.of(Precision.TF32), false),
                // CudaFeaturesGpuTest: ResNet.untrained(5) on 3 random images
                new Fixture("resnet50 untrained seed 5", Network.initialised(Architecture.imagenet(), 5),
                        TestNets.randomInput(3, size, 11), both, false),
                // CudaResNetGpuTest.samplePhotosSameTop1InFp16
                new Fixture("resnet50 untrained seed 5, sample photos", Network.initialised(Architecture.imagenet(), 5),
                        photos, List.of(Precision.FP16), false));
    }

    /** The sample photos, preprocessed (resized to size, centre crop) as the CPU engine does. */
    static Tensor photos(int size) {
        try (ResNet cpu = ResNet.untrained(5, Device.cpu())) {
            List<Path> files;
            try (var f = Files.list(PyTorchReference.projectRoot().resolve("samples"))) {
                files = f.filter(p -> p.toString().matches(".*\\.(png|jpg)$")).sorted().toList();
            }
            Tensor batch = Tensor.zeros(files.size(), 3, 224, 224);
            for (int i = 0; i < files.size(); i++) {
                System.arraycopy(cpu.preprocess(ImageDecoder.decode(files.get(i))).data(), 0, batch.data(),
                        i * 3 * 224 * 224, 3 * 224 * 224);
            }
            return batch;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void network(int size, int batch, String only) {
        for (Fixture f : fixtures(size, batch)) {
            if (f.x().dim(2) == size && (only == null || f.name().equals(only))) {
                network(f, size);
            }
        }
    }

    static void network(Fixture fx, int size) {
        Network net = fx.net();
        Tensor x = fx.x();
        String at = fx.name() + " " + size + "x" + size + " batch " + x.dim(0);
        NetworkPlan plan = NetworkPlan.of(net, size, size);
        float[] fp32 = CpuReference.forward(net, x).data();
        Set<String> all = new HashSet<>();
        plan.layers().forEach(l -> all.add(l.name()));
        for (Precision p : fx.precisions()) {
            long t0 = System.nanoTime();
            PrecisionReference.Result ref = PrecisionReference.run(plan, x, PrecisionOps.of(p));
            System.out.printf(Locale.ROOT, "%s %s: reference in %.1f s, vs exact fp32 %.2e%n", p, at,
                    (System.nanoTime() - t0) / 1e9, TestNets.relL2(ref.logits().data(), fp32));
            for (Summation s : fx.full() ? List.of(Summation.PLAIN_GEMM, Summation.EXACT, Summation.TENSOR_CORE)
                    : List.of(Summation.PLAIN_GEMM)) {
                PrecisionReference.Result r = PrecisionReference.run(plan, x,
                        new PrecisionOps(p, s, GpuRounding.Tf32.NEAREST));
                System.out.printf(Locale.ROOT, "%s %s, %s: logits %.2e, features %.2e, worst channel %.2e%n", p, at,
                        s, TestNets.relL2(r.logits().data(), ref.logits().data()),
                        TestNets.relL2(r.features().data(), ref.features().data()), worstChannel(r, ref));
            }
            if (p == Precision.FP16) {
                PrecisionReference.Result r = PrecisionReference.run(plan, x, PrecisionOps.of(p),
                        new PrecisionReference.Layers(all, Set.of()));
                System.out.printf(Locale.ROOT, "%s %s, every layer unfused: logits %.2e, features %.2e, worst channel "
                        + "%.2e%n", p, at, TestNets.relL2(r.logits().data(), ref.logits().data()),
                        TestNets.relL2(r.features().data(), ref.features().data()), worstChannel(r, ref));
            } else if (p == Precision.TF32) {
                PrecisionReference.Result r = PrecisionReference.run(plan, x,
                        new PrecisionOps(p, Summation.GEMM, GpuRounding.Tf32.TRUNCATE));
                System.out.printf(Locale.ROOT, "%s %s, operands truncated: logits %.2e, worst channel %.2e%n", p, at,
                        TestNets.relL2(r.logits().data(), ref.logits().data()), worstChannel(r, ref));
            }
            if (!fx.full() || p == Precision.FP32) {
                continue;
            }
            PlantedFaults.Fault fault = PlantedFaults.of(p);
            for (PlantedFaults.Fault f : List.of(fault, new PlantedFaults.Fault(fault.bn(), fault.channels(),
                    fault.factor(), 100), new PlantedFaults.Fault(fault.bn(), fault.channels(), fault.factor(), 1000))) {
                PrecisionReference.Result r = PrecisionReference.run(NetworkPlan.of(f.plant(net), size, size), x,
                        new PrecisionOps(p, Summation.PLAIN_GEMM, GpuRounding.Tf32.NEAREST));
                System.out.printf(Locale.ROOT, "%s %s, planted %s: logits vs reference %.2e, vs fp32 %.2e, worst "
                        + "channel %.2e%n", p, at, f, TestNets.relL2(r.logits().data(), ref.logits().data()),
                        TestNets.relL2(r.logits().data(), fp32), worstChannel(r, ref));
            }
        }
    }

    private static double worstChannel(PrecisionReference.Result r, PrecisionReference.Result ref) {
        return TestNets.worstChannel(r.features().data(), ref.features().data(), ref.features().dim(1));
    }
}
