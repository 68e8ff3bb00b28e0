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

    @ParameterizedTest
    @EnumSource(Precision.class)
    void wholeNetworkMatchesCpu(Precision p) {
        try (CudaResNet m = model(p, false, 4)) {
            float[] gpu = m.logits(input.data(), 4);
            double err = TestNets.relL2(gpu, reference);
            System.out.printf("%s whole network: relative L2 error %.3e (%s)%n", p, err, m.describe());
            Map<String, String> unfused = m.withContext(c -> {
                System.out.println("  algorithms: " + c.algorithms(4) + ", workspace " + c.workspaceBytes());
                System.out.println("  unfused layers: " + c.unfusedLayers());
                return c.unfusedLayers();
            });
            assertTrue(err <= Tolerances.network(p), p + ": relative L2 error " + err);
            if (p != Precision.TF32) {
                assertEquals(Map.of(), unfused, p + ": every convolution with a bias runs as one fused cuDNN call");
            }
        }
    }

    /** A basic-block and a grouped architecture (cuDNN's group count) against the CPU reference, with graphs. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"resnet18,FP32", "resnext50_32x4d,FP32", "resnext50_32x4d,FP16",
            "wide_resnet50_2,TF32"})
    void otherArchitecturesMatchCpu(String arch, Precision p) {
        Network net = TestNets.randomBn(dev.jresnet.graph.Architecture.of(arch), 77);
        Tensor x = TestNets.randomInput(2, 224, 3);
        float[] cpu = dev.jresnet.graph.CpuReference.forward(net, x).data();
        try (CudaResNet m = CudaResNet.create(NetworkPlan.of(net, 224, 224), CudaResNet.Options.defaults()
                .withPrecision(p).withBuckets(List.of(2)))) {
            for (int run = 0; run < 3; run++) {   // eager, capture, replay
                double err = TestNets.relL2(m.logits(x.data(), 2), cpu);
                System.out.printf("%s %s run %d: relative L2 error %.3e%n", arch, p, run, err);
                assertTrue(err <= Tolerances.network(p), arch + " " + p + " run " + run + ": relative L2 error " + err);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void graphReplayEqualsEagerAndBucketsPad(Precision p) {
        float[] eager;
        try (CudaResNet m = model(p, false, 8)) {
            eager = m.logits(input.data(), 4); // bucket 8, padded
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
            double err = TestNets.relL2(exact1, eager);
            assertTrue(err <= Tolerances.network(p), p + ": bucket 4 vs padded bucket 8: " + err);
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

    /** fp16 and the GPU preprocessing on the sample photos: same top-1 as the CPU (where the CPU is sure). */
    @Test
    void samplePhotosSameTop1InFp16() throws Exception {
        Path samples = PyTorchReference.projectRoot().resolve("samples");
        List<RgbImage> images = new ArrayList<>();
        try (var files = Files.list(samples)) {
            for (Path p : files.filter(f -> f.toString().matches(".*\\.(png|jpg)$")).sorted().toList()) {
                images.add(ImageDecoder.decode(p));
            }
        }
        Path pretrained = PyTorchReference.projectRoot().resolve("weights/resnet50.safetensors");
        ResNet.Builder cpuB = ResNet.builder().device(Device.cpu()).seed(5);
        ResNet.Builder gpuB = ResNet.builder().device(Device.cuda(0)).seed(5).precision(Precision.FP16);
        if (Files.isRegularFile(pretrained)) {
            cpuB.weights(pretrained);
            gpuB.weights(pretrained);
        }
        try (ResNet cpu = cpuB.build(); ResNet gpu = gpuB.build()) {
            Tensor batch = Tensor.zeros(images.size(), 3, 224, 224);
            for (int i = 0; i < images.size(); i++) {
                System.arraycopy(cpu.preprocess(images.get(i)).data(), 0, batch.data(), i * 3 * 224 * 224, 3 * 224 * 224);
            }
            float[] c = cpu.forward(batch).data();
            float[] g = gpu.forward(batch).data();
            double err = TestNets.relL2(g, c);
            System.out.printf("fp16 sample photos: relative L2 error %.3e%n", err);
            assertTrue(err <= 1e-2, "fp16 relative L2 " + err);
            List<List<Prediction>> viaGpuPreprocessing = gpu.classify(images, 2);
            for (int i = 0; i < images.size(); i++) {
                int top = TestNets.argmax(c, i * 1000, 1000);
                float[] row = Arrays.copyOfRange(c, i * 1000, (i + 1) * 1000);
                float[] sorted = row.clone();
                Arrays.sort(sorted);
                float margin = sorted[999] - sorted[998], range = sorted[999] - sorted[0];
                boolean sure = margin > 0.02f * range;
                System.out.printf("image %d: cpu top-1 %d (margin %.3g), gpu %d, gpu-preprocessed %d%n", i, top, margin,
                        TestNets.argmax(g, i * 1000, 1000), viaGpuPreprocessing.get(i).get(0).index());
                if (sure) {
                    assertEquals(top, TestNets.argmax(g, i * 1000, 1000), "fp16 top-1 of image " + i);
                    assertEquals(top, viaGpuPreprocessing.get(i).get(0).index(), "GPU-preprocessed top-1 of image " + i);
                }
            }
        }
    }

    private static FloatBuffer direct(float[] data) {
        FloatBuffer b = ByteBuffer.allocateDirect(4 * data.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(data).flip();
        return b;
    }
}
