package dev.jresnet.resnet;

import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.CpuInference;
import dev.jresnet.graph.CpuReference;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.Variant;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.TestNets;
import dev.jresnet.weights.IncompatibleWeightsException;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The graph's bookkeeping and the API's guarantees, without PyTorch. */
class ResNetTest {
    static Tensor randomInput(int n, int size, long seed) {
        return TestNets.randomInput(n, size, seed);
    }

    @Test
    void parameterCountMatchesTorchvision() {
        assertEquals(25_557_032L, new Network(Architecture.imagenet()).parameterCount());
        // A 10-class head: 2048*10 + 10 instead of 2048*1000 + 1000.
        assertEquals(25_557_032L - 2_049_000 + 20_490,
                new Network(Architecture.imagenet().withClasses(10)).parameterCount());
    }

    @Test
    void flopsMatchTorchvisionsPublishedCost() {
        long f = new Network(Architecture.imagenet()).flops(224, 224);
        // torchvision lists 4.09 GMACs for ResNet50_Weights.IMAGENET1K_V1; a MAC is 2 FLOPs.
        assertEquals(8.18e9, f, 0.01e9, "FLOPs " + f);
        assertTrue(new Network(Architecture.imagenet().withVariant(Variant.V1)).flops(224, 224) < f,
                "v1 strides earlier, so it costs less");
    }

    @Test
    void seededInitialisationIsDeterministic() {
        Tensor x = randomInput(1, 64, 1);
        try (ResNet a = ResNet.untrained(7, Device.cpu()); ResNet b = ResNet.untrained(7, Device.cpu());
             ResNet c = ResNet.untrained(8, Device.cpu())) {
            assertFalse(a.isPretrained());
            assertTrue(a.weightsDescription().contains("untrained"));
            float[] la = a.forward(x).data();
            assertArrayEquals(la, b.forward(x).data());
            assertFalse(java.util.Arrays.equals(la, c.forward(x).data()));
        }
    }

    @Test
    void concurrentCallsGiveTheSameAnswersAsSequentialOnes() throws Exception {
        try (ResNet m = ResNet.untrained(3, Device.cpu())) {
            List<Tensor> inputs = List.of(randomInput(1, 64, 11), randomInput(2, 64, 12), randomInput(1, 64, 13));
            List<float[]> sequential = inputs.stream().map(t -> m.forward(t).data()).toList();
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<float[]>> futures = inputs.stream().map(t -> pool.submit(() -> m.forward(t).data())).toList();
                for (int i = 0; i < inputs.size(); i++) {
                    assertArrayEquals(sequential.get(i), futures.get(i).get(), "input " + i);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void fusedForwardIsBitwiseTheReferenceForward() {
        Network g = Network.initialised(Architecture.imagenet(), 5);
        // Non-trivial batch-norm statistics, so the fused scale and shift are exercised.
        SplittableRandom r = new SplittableRandom(9);
        g.visitTensors((name, t, kind) -> {
            if (name.endsWith("running_mean") || name.endsWith("bn3.weight") || name.endsWith("bias")) {
                for (int i = 0; i < t.size(); i++) {
                    t.data()[i] = (float) (r.nextDouble() * 0.2 - 0.1);
                }
            } else if (name.endsWith("running_var")) {
                for (int i = 0; i < t.size(); i++) {
                    t.data()[i] = (float) (0.5 + r.nextDouble());
                }
            }
        });
        CpuInference fused = TestNets.bitwiseFastPath(g);
        for (int n : new int[] {1, 3}) {
            Tensor x = randomInput(n, 64, 11 + n);
            Tensor want = CpuReference.forward(g, x);
            assertArrayEquals(want.data(), fused.forward(x).data(), "batch " + n + ": fused forward vs reference");
        }
    }

    @Test
    void useAfterCloseIsAnError() {
        ResNet m = ResNet.untrained(0, Device.cpu());
        m.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.forward(randomInput(1, 64, 0)));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void wrongInputShapeAndNaNAreRejected() {
        try (ResNet m = ResNet.untrained(0, Device.cpu())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.forward(Tensor.zeros(1, 4, 64, 64)));
            assertTrue(e.getMessage().contains("[1, 4, 64, 64]"), e.getMessage());
            Tensor x = randomInput(1, 64, 0);
            x.data()[5] = Float.NaN;
            e = assertThrows(IllegalArgumentException.class, () -> m.forward(x));
            assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        }
    }

    @Test
    void topKIsSortedAndProbabilitiesSumToOne() {
        try (ResNet m = ResNet.untrained(0, Device.cpu())) {
            Tensor logits = m.forward(randomInput(1, 64, 5));
            List<Prediction> all = m.topK(logits, 1000).get(0);
            double sum = 0;
            for (int i = 0; i < all.size(); i++) {
                sum += all.get(i).probability();
                if (i > 0) {
                    assertTrue(all.get(i - 1).logit() >= all.get(i).logit());
                }
                assertEquals(Labels.imagenet().get(all.get(i).index()), all.get(i).label());
            }
            assertEquals(1.0, sum, 1e-4);
            assertThrows(IllegalArgumentException.class, () -> m.topK(logits, 0));
            assertThrows(IllegalArgumentException.class, () -> m.topK(logits, 1001));
        }
    }

    @Test
    void cudaRequestOnAMachineWithoutAUsableGpuExplainsWhy() {
        org.junit.jupiter.api.Assumptions.assumeFalse(dev.jresnet.cuda.CudaAvailability.status().usable(),
                "a GPU is usable here");
        DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class,
                () -> ResNet.builder().device(Device.cuda(0)).build());
        assertTrue(e.getMessage().contains("Device.cpu()"), e.getMessage());
        assertTrue(Device.auto().description().startsWith("cpu (auto: CUDA unavailable"), Device.auto().description());
    }

    // --- weight files that do not fit the network -------------------------------------------------

    static Map<String, WeightSet.Entry> goodEntries() {
        Network g = new Network(Architecture.imagenet());
        WeightBinding.initialise(g, 1);
        return new LinkedHashMap<>(WeightBinding.export(g, Map.of()).entries());
    }

    static WeightSet set(Map<String, WeightSet.Entry> e) {
        return new WeightSet(java.nio.file.Path.of("test.safetensors"), e, Map.of());
    }

    static IncompatibleWeightsException loadFails(Map<String, WeightSet.Entry> e) {
        return assertThrows(IncompatibleWeightsException.class,
                () -> WeightBinding.load(new Network(Architecture.imagenet()), set(e)));
    }

    @Test
    void missingAndUnexpectedKeysAreAllListed() {
        Map<String, WeightSet.Entry> e = goodEntries();
        e.remove("layer3.4.bn2.running_var");
        e.remove("fc.bias");
        Tensor t = Tensor.zeros(3);
        e.put("head.weight", new WeightSet.Entry("head.weight", DataType.F32, t, null, new int[] {3}));
        String msg = loadFails(e).getMessage();
        assertTrue(msg.contains("test.safetensors"), msg);
        assertTrue(msg.contains("2 missing (layer3.4.bn2.running_var [256], fc.bias [1000])"), msg);
        assertTrue(msg.contains("1 unexpected (head.weight)"), msg);
        assertFalse(msg.contains("\n"), "one line: " + msg);
    }

    @Test
    void shapeMismatchNamesTensorExpectedAndFound() {
        Map<String, WeightSet.Entry> e = goodEntries();
        Tensor t = Tensor.zeros(64, 3, 3, 3);
        e.put("conv1.weight", new WeightSet.Entry("conv1.weight", DataType.F32, t, null, new int[] {64, 3, 3, 3}));
        String msg = loadFails(e).getMessage();
        assertTrue(msg.contains("1 mismatched (conv1.weight: expected [64, 3, 7, 7], found [64, 3, 3, 3])"), msg);
    }

    @Test
    void nanOrInfiniteWeightIsAnError() {
        Map<String, WeightSet.Entry> e = goodEntries();
        e.get("layer2.0.conv2.weight").floats().data()[17] = Float.POSITIVE_INFINITY;
        String msg = loadFails(e).getMessage();
        assertTrue(msg.contains("layer2.0.conv2.weight") && msg.contains("Infinity") && msg.contains("17"), msg);
    }

    @Test
    void integerTensorWhereAFloatBelongsIsAnError() {
        Map<String, WeightSet.Entry> e = goodEntries();
        e.put("bn1.running_mean", new WeightSet.Entry("bn1.running_mean", DataType.I64, null, new long[64], new int[] {64}));
        String msg = loadFails(e).getMessage();
        assertTrue(msg.contains("bn1.running_mean: expected a floating-point tensor, found I64"), msg);
    }

    @Test
    void batchCountersAreAcceptedAndEveryOtherTensorIsLoaded() throws Exception {
        Map<String, WeightSet.Entry> good = goodEntries();
        Map<String, WeightSet.Entry> e = new LinkedHashMap<>();
        int counters = 0;
        for (Map.Entry<String, WeightSet.Entry> x : good.entrySet()) {
            e.put(x.getKey(), x.getValue());
            if (x.getKey().endsWith(".running_var")) {
                // torchvision's state_dict: an int64 scalar after every BatchNorm's running_var
                String name = x.getKey().replace(".running_var", ".num_batches_tracked");
                e.put(name, new WeightSet.Entry(name, DataType.I64, null, new long[] {5}, new int[0]));
                counters++;
            }
        }
        assertEquals(53, counters, "ResNet-50's batch norms");
        Network net = new Network(Architecture.imagenet());
        WeightBinding.load(net, set(e));
        Map<String, WeightSet.Entry> loaded = WeightBinding.export(net, Map.of()).entries();
        assertEquals(List.copyOf(good.keySet()), List.copyOf(loaded.keySet()), "the counters are no tensors of the net");
        for (WeightSet.Entry x : good.values()) {
            assertArrayEquals(x.floats().data(), loaded.get(x.name()).floats().data(), x.name());
        }
    }

    @Test
    void classifierDeclaredAMillionByOneIsRefusedBeforeTheNetworkIsBuilt(@TempDir Path tmp) throws Exception {
        // fc.weight [1000000, 1] loaded as resnet50: the builder used to make a 1000000 x 2048 classifier (8 GB)
        // before the load compared shapes (the file needs no other tensor to show it)
        Map<String, WeightSet.Entry> e = new LinkedHashMap<>();
        e.put("fc.weight", new WeightSet.Entry("fc.weight", DataType.F32, Tensor.zeros(1_000_000, 1), null,
                new int[] {1_000_000, 1}));
        e.put("fc.bias", new WeightSet.Entry("fc.bias", DataType.F32, Tensor.zeros(1_000_000), null,
                new int[] {1_000_000}));
        Path f = tmp.resolve("fc.safetensors");
        SafetensorsWriter.write(f, new WeightSet(null, e, Map.of()), DataType.F32, Map.of());
        long t0 = System.nanoTime();
        IncompatibleWeightsException x = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(
                IncompatibleWeightsException.class,
                () -> ResNet.builder().weights(f).architecture(Architecture.RESNET50).build()));
        String m = x.getMessage();
        System.out.printf("fc.safetensors (%d ms): %s%n", (System.nanoTime() - t0) / 1_000_000, m);
        assertTrue(m.startsWith(f + " does not fit resnet50: 1 mismatched (fc.weight: expected [classes, 2048], "
                + "found [1000000, 1]); 265 missing (conv1.weight"), m);
        assertFalse(m.contains("\n"), m);
    }

    @Test
    void anUnknownPresetInTheFileNamesTheFileAndTheKey(@TempDir Path tmp) throws Exception {
        WeightSet exported;
        try (ResNet m = ResNet.builder().architecture(Architecture.RESNET18).build()) {
            exported = m.exportWeights(null);
        }
        Map<String, String> meta = new java.util.HashMap<>(exported.metadata());
        meta.put(ResNet.META_PRESET, "imagenet");
        Path f = tmp.resolve("preset.safetensors");
        SafetensorsWriter.write(f, exported, DataType.F32, meta);
        IncompatibleWeightsException x = assertThrows(IncompatibleWeightsException.class,
                () -> ResNet.builder().weights(f).build());
        assertTrue(x.getMessage().startsWith(f + ": metadata jresnet.preset = \"imagenet\": unknown preprocessing"),
                x.getMessage());
    }

    @Test
    void weightsThatAreNotAFileAreNamed(@TempDir Path tmp) {
        // "/" has no file name: the builder used to fail with a NullPointerException deciding the format
        java.io.IOException e = assertThrows(java.io.IOException.class,
                () -> ResNet.builder().weights(Path.of("/")).build());
        assertEquals("weights file /: is a directory, not a file", e.getMessage());
        e = assertThrows(java.io.IOException.class, () -> ResNet.builder().weights(tmp.resolve("gone.onnx")).build());
        assertTrue(e.getMessage().endsWith("gone.onnx: no such file"), e.getMessage());
    }
}
