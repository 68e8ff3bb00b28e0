package dev.jresnet.cuda;

import dev.jresnet.testing.TestNets;
import dev.jresnet.testing.Tolerances;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.Preset;
import dev.jresnet.image.RgbImage;
import dev.jresnet.resnet.Device;
import dev.jresnet.tensor.Precision;
import dev.jresnet.resnet.Prediction;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.graph.Network;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PrecisionReference;
import dev.jresnet.testing.PyTorchReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

/** The whole GPU network against the CPU reference, and the engine's guarantees (graphs, buckets, threads). */
@Tag("gpu")
class CudaResNetGpuTest {
    private static Network graph;
    private static Tensor input;      // [4, 3, 224, 224]
    private static float[] reference; // CPU logits of input

    @BeforeEach
    void setUp() {
        GpuTests.assumeCudnn();
        GpuTests.assumeCublas();
        GpuTests.assumeNvrtc();
        if (graph == null) {
            graph = TestNets.randomBnGraph(2024);
            input = TestNets.randomInput(4, 224, 9);
            reference = dev.jresnet.graph.CpuReference.forward(graph, input).data();
        }
    }

    @AfterAll
    static void forget() {
        graph = null;
    }

    private static CudaResNet model(Precision p, boolean graphs, Integer... buckets) {
        return CudaResNet.create(NetworkPlan.of(graph, 224, 224), CudaResNet.Options.defaults().withPrecision(p)
                .withCudaGraphs(graphs).withBuckets(List.of(buckets)));
    }

    /**
     * The logits of x that {@code m} computed at {@code bucket} against the reference of its precision: the CPU
     * reference of {@code net} in fp32, else the rounding-aware reference of the engine's plan
     * ({@link GpuReference}), within {@link Tolerances#network}.
     */
    private static void assertMatchesReference(CudaResNet m, Network net, Tensor x, int bucket, float[] gpu,
                                               String what) {
        Precision p = m.precision();
        if (p == Precision.FP32) {
            double err = TestNets.relL2(gpu, dev.jresnet.graph.CpuReference.forward(net, x).data());
            System.out.printf("FP32 %s: relative L2 error %.3e%n", what, err);
            assertTrue(err <= Tolerances.network(p), "FP32 " + what + ": relative L2 error " + err);
        } else {
            // the features of the same pass (same bucket, so the same algorithms), for the channel check
            float[] features = m.features(x.data(), x.dim(0));
            GpuReference.assertClose(m, x, bucket, gpu, features, GpuReference.of(m, x, bucket), what);
        }
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void wholeNetworkMatchesCpu(Precision p) {
        try (CudaResNet m = model(p, false, 4)) {
            float[] gpu = m.logits(input.data(), 4);
            System.out.printf("%s whole network: relative L2 error to exact fp32 %.3e (%s)%n", p,
                    TestNets.relL2(gpu, reference), m.describe());
            Map<String, String> unfused = m.withContext(c -> {
                System.out.println("  algorithms: " + c.algorithms(4) + ", workspace " + c.workspaceBytes());
                System.out.println("  unfused layers: " + c.unfusedLayers());
                return c.unfusedLayers();
            });
            assertMatchesReference(m, graph, input, 4, gpu, "whole network");
            if (p != Precision.TF32) {
                assertEquals(Map.of(), unfused, p + ": every convolution with a bias runs as one fused cuDNN call");
            }
        }
    }

    /**
     * A basic-block and a grouped architecture (cuDNN's group count) against the reference of their precision, with
     * graphs.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"resnet18,FP32", "resnext50_32x4d,FP32", "resnext50_32x4d,FP16",
            "wide_resnet50_2,TF32"})
    void otherArchitecturesMatchCpu(String arch, Precision p) {
        Network net = TestNets.randomBn(dev.jresnet.graph.Architecture.of(arch), 77);
        Tensor x = TestNets.randomInput(2, 224, 3);
        try (CudaResNet m = CudaResNet.create(NetworkPlan.of(net, 224, 224), CudaResNet.Options.defaults()
                .withPrecision(p).withBuckets(List.of(2)))) {
            float[] first = m.logits(x.data(), 2);   // eager
            assertMatchesReference(m, net, x, 2, first, arch + " eager");
            for (int run = 1; run < 3; run++) {      // capture, replay
                assertArrayEquals(first, m.logits(x.data(), 2), arch + " " + p + " run " + run + " equals the eager run");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void graphReplayEqualsEagerAndBucketsPad(Precision p) {
        try (CudaResNet m = model(p, false, 8)) {
            // bucket 8, padded; it may choose other algorithms than bucket 4, so each bucket is judged against the
            // reference of what it ran
            assertMatchesReference(m, graph, input, 8, m.logits(input.data(), 4), "padded bucket 8");
        }
        try (CudaResNet m = model(p, true, 4, 8)) {
            float[] exact1 = m.logits(input.data(), 4);  // bucket 4: eager (warm-up)
            float[] exact2 = m.logits(input.data(), 4);  // captured, replayed
            float[] exact3 = m.logits(input.data(), 4);  // replayed
            m.withContext(c -> {
                assertTrue(c.capturedBuckets().contains(4), "bucket 4 captured: " + c.capturedBuckets()
                        + ", capture failures " + c.captureFailures());
                return null;
            });
            assertArrayEquals(exact1, exact2, p + ": first graph replay equals the eager run");
            assertArrayEquals(exact1, exact3, p + ": replays are deterministic");
            float[] three = m.logits(Arrays.copyOf(input.data(), 3 * 3 * 224 * 224), 3); // bucket 4 padded
            assertArrayEquals(Arrays.copyOf(exact1, 3 * 1000), three, p + ": padding does not change real rows");
            assertMatchesReference(m, graph, input, 4, exact1, "bucket 4");
        }
    }

    @Test
    void largerBatchesAreSplitAndOddSizesPadded() {
        Tensor x = TestNets.randomInput(5, 224, 21);
        float[] cpu = dev.jresnet.graph.CpuReference.forward(graph, x).data();
        try (CudaResNet m = model(Precision.FP32, true, 1, 2)) {
            for (int i = 0; i < 3; i++) {
                double err = TestNets.relL2(m.logits(x.data(), 5), cpu);
                assertTrue(err <= 1e-5, "run " + i + ": " + err);
            }
        }
    }

    @Test
    void noAllocationAfterWarmUp() {
        try (CudaResNet m = model(Precision.FP16, true, 1, 4)) {
            FloatBuffer in = direct(input.data());
            FloatBuffer out = ByteBuffer.allocateDirect(4 * 4 * 1000).order(ByteOrder.nativeOrder()).asFloatBuffer();
            FloatBuffer in1 = direct(Arrays.copyOf(input.data(), 3 * 224 * 224));
            for (int i = 0; i < 3; i++) { // eager, capture, replay for both buckets
                m.logits(in, 4, out);
                m.logits(in1, 1, out);
            }
            long device = DeviceMemory.allocationCount(), pinned = PinnedBuffer.allocationCount();
            for (int i = 0; i < 20; i++) {
                m.logits(in, 4, out);
                m.logits(in1, 1, out);
            }
            assertEquals(device, DeviceMemory.allocationCount(), "device allocations after warm-up");
            assertEquals(pinned, PinnedBuffer.allocationCount(), "pinned allocations after warm-up");
        }
    }

    @Test
    void threadsShareOneModelWithTheirOwnContexts() throws Exception {
        try (CudaResNet m = CudaResNet.create(NetworkPlan.of(graph, 224, 224), CudaResNet.Options.defaults()
                .withBuckets(List.of(1, 4)).withMaxContexts(3))) {
            float[] expected = m.logits(input.data(), 4);
            ExecutorService pool = Executors.newFixedThreadPool(6);
            try {
                List<Future<float[]>> results = new ArrayList<>();
                for (int i = 0; i < 24; i++) {
                    results.add(pool.submit((Callable<float[]>) () -> m.logits(input.data(), 4)));
                }
                for (Future<float[]> f : results) {
                    assertArrayEquals(expected, f.get(), "same logits from every thread and context");
                }
            } finally {
                pool.shutdown();
            }
            // a caller-owned context per thread
            Thread[] threads = new Thread[2];
            Throwable[] failure = new Throwable[1];
            for (int t = 0; t < threads.length; t++) {
                threads[t] = new Thread(() -> {
                    try (ExecutionContext c = m.createContext()) {
                        for (int i = 0; i < 3; i++) {
                            assertArrayEquals(expected, c.logits(input.data(), 4));
                        }
                    } catch (Throwable e) {
                        failure[0] = e;
                    }
                });
                threads[t].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            assertNull(failure[0], () -> String.valueOf(failure[0]));
        }
    }

    @Test
    void deviceTensorsStayOnTheGpu() {
        try (CudaResNet m = model(Precision.FP32, true, 4)) {
            float[] expected = m.logits(input.data(), 4);
            try (DeviceTensor in = m.allocateInput(4); DeviceTensor out = m.allocateOutput(4)) {
                in.upload(FloatBuffer.wrap(input.data()));
                for (int i = 0; i < 3; i++) {
                    m.logits(in, out);
                    assertArrayEquals(expected, out.toArray(), "run " + i);
                }
                DeviceTensor wrong = m.allocateOutput(3);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.logits(in, wrong));
                assertTrue(e.getMessage().contains("[4, 1000]") && e.getMessage().contains("[3, 1000]"), e.getMessage());
            }
        }
    }

    @Test
    void errorsNameShapesAndCloseIsFinal() {
        CudaResNet m = model(Precision.FP32, true, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.logits(new float[100], 1));
        assertTrue(e.getMessage().contains("[1, 3, 224, 224]"), e.getMessage());
        FloatBuffer small = FloatBuffer.allocate(10);
        e = assertThrows(IllegalArgumentException.class, () -> m.logits(direct(input.data()), 4, small));
        assertTrue(e.getMessage().contains("[4, 1000]"), e.getMessage());
        ExecutionContext own = m.createContext();
        DeviceTensor t = m.allocateInput(1);
        m.close();
        m.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> m.logits(input.data(), 4));
        assertThrows(IllegalStateException.class, () -> own.logits(input.data(), 4));
        assertThrows(IllegalStateException.class, t::address);
        assertThrows(IllegalStateException.class, m::createContext);
    }

    @Test
    void publicApiOnCuda() throws Exception {
        try (ResNet cpu = ResNet.untrained(3, Device.cpu());
             ResNet gpu = ResNet.builder().seed(3).device(Device.cuda(0)).precision(Precision.FP32)
                     .batchBuckets(1, 2).build()) {
            assertEquals(Device.Kind.CUDA, gpu.device().kind());
            System.out.println(gpu.deviceDescription());
            Tensor x = TestNets.randomInput(2, 224, 4);
            float[] c = cpu.forward(x).data();
            assertTrue(TestNets.relL2(gpu.forward(x).data(), c) <= 1e-5);
            float[][] async = gpu.logitsAsync(x).get();
            assertTrue(TestNets.relL2(async[1], Arrays.copyOfRange(c, 1000, 2000)) <= 1e-5);
            FloatBuffer out = ByteBuffer.allocateDirect(2 * 1000 * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
            gpu.logits(direct(x.data()), 2, out);
            float[] o = new float[2000];
            out.get(o);
            assertTrue(TestNets.relL2(o, c) <= 1e-5);
            assertThrows(IllegalArgumentException.class, () -> gpu.forward(TestNets.randomInput(1, 64, 1)));
        }
    }

    /**
     * fp16 on the sample photos, through the CPU's preprocessing and through the GPU's: the logits within fp16's
     * tolerance of the fp16 reference, and on every photo the reference's top-1 with the same logit. No photo is a
     * near tie: each one's margin between the reference's first and second logit is checked to exceed what the
     * tolerance lets two logits move (√2 τ ||logits||), so a different top-1 is an error, never rounding.
     */
    @Test
    void samplePhotosSameTop1InFp16() throws Exception {
        Path samples = PyTorchReference.projectRoot().resolve("samples");
        List<RgbImage> images = new ArrayList<>();
        try (var files = Files.list(samples)) {
            for (Path p : files.filter(f -> f.toString().matches(".*\\.(png|jpg)$")).sorted().toList()) {
                images.add(ImageDecoder.decode(p));
            }
        }
        assertEquals(5, images.size(), "sample photos in " + samples);
        int n = images.size();
        Path pretrained = PyTorchReference.projectRoot().resolve("weights/resnet50.safetensors");
        ResNet.Builder gpuB = ResNet.builder().device(Device.cuda(0)).seed(5).precision(Precision.FP16)
                .batchBuckets(n);
        if (Files.isRegularFile(pretrained)) {
            gpuB.weights(pretrained);
        }
        try (ResNet gpu = gpuB.build()) {
            CudaResNet engine = gpu.cudaEngine().orElseThrow();
            Tensor batch = gpu.preprocess(images);   // on the CPU
            float[] g = gpu.forward(batch).data();
            PrecisionReference.Result ref = GpuReference.of(engine, batch, n);
            float[] want = ref.logits().data();
            GpuReference.assertClose(engine, batch, n, g, engine.features(batch.data(), n), ref, "sample photos");
            double allowed = Math.sqrt(2) * Tolerances.network(Precision.FP16) * Math.sqrt(TestNets.sumOfSquares(want));
            List<List<Prediction>> viaGpuPreprocessing = gpu.classify(images, 2);
            for (int i = 0; i < n; i++) {
                int top = TestNets.argmax(want, i * 1000, 1000);
                double margin = TestNets.topMargin(want, i * 1000, 1000);
                System.out.printf("image %d: reference top-1 %d (margin %.3g, rounding may move two logits by %.3g),"
                        + " gpu %d, gpu-preprocessed %d%n", i, top, margin, allowed, TestNets.argmax(g, i * 1000, 1000),
                        viaGpuPreprocessing.get(i).get(0).index());
                assertTrue(margin > allowed, "image " + i + " is a near tie in the reference (margin " + margin
                        + " <= " + allowed + "): its top-1 would test nothing; use another photo");
                assertEquals(top, TestNets.argmax(g, i * 1000, 1000), "fp16 top-1 of image " + i);
                Prediction viaGpu = viaGpuPreprocessing.get(i).get(0);
                assertEquals(top, viaGpu.index(), "GPU-preprocessed top-1 of image " + i);
                // the GPU's preprocessing stores the CPU's values rounded to fp16 (GpuOpsGpuTest), so the same pass
                assertEquals(g[i * 1000 + top], viaGpu.logit(), "GPU-preprocessed top-1 logit of image " + i);
            }
        }
    }

    private static FloatBuffer direct(float[] data) {
        FloatBuffer b = ByteBuffer.allocateDirect(4 * data.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(data).flip();
        return b;
    }
}
