package dev.jresnet.bench;

import dev.jresnet.cuda.ConvAlgorithms;
import dev.jresnet.cuda.CudaResNet;
import dev.jresnet.cuda.DeviceTensor;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Java side of {@code bench/gpu-check.sh} (run on a GPU machine with {@code java -cp "$GPU_CLASSPATH"}):
 * <pre>
 *   GpuCheck logits WEIGHTS.pth INPUT.npy OUTDIR       writes OUTDIR/jresnet_{fp32,tf32,fp16}.npy and
 *                                                      OUTDIR/algorithms_{fp32,tf32,fp16}.txt
 *   GpuCheck bench WEIGHTS.pth OUT.csv [BATCHES] [SECONDS_PER_POINT]
 * </pre>
 * The benchmark times device-resident forward passes (device tensor in, device tensor out, stream
 * synchronised after each call, as PyTorch's {@code model(x); torch.cuda.synchronize()}) for fp32, tf32 and
 * fp16 with CUDA graphs, and fp16 without, at each batch size (default 1,32,256), and appends CSV rows
 * {@code impl,precision,batch,ms_per_batch,images_per_s,tflops} (8.18 GFLOP per image).
 */
public final class GpuCheck {
    /** torchvision's 4.09 GMACs per 224x224 image. */
    static final double GFLOP_PER_IMAGE = 8.18;

    private GpuCheck() {}

    public static void main(String[] args) throws Exception {
        if (args.length >= 4 && args[0].equals("logits")) {
            logits(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]));
        } else if (args.length >= 3 && args[0].equals("bench")) {
            int[] batches = args.length > 3 ? Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray()
                    : new int[] {1, 32, 256};
            double seconds = args.length > 4 ? Double.parseDouble(args[4]) : 2.0;
            bench(Path.of(args[1]), Path.of(args[2]), batches, seconds);
        } else {
            System.err.println("usage: GpuCheck logits WEIGHTS.pth INPUT.npy OUTDIR | GpuCheck bench WEIGHTS.pth OUT.csv"
                    + " [BATCHES] [SECONDS]");
            System.exit(2);
        }
    }

    static void logits(Path weights, Path inputNpy, Path outDir) throws IOException {
        Tensor x = Npy.read(inputNpy);
        Files.createDirectories(outDir);
        for (Precision p : Precision.values()) {
            try (ResNet m = ResNet.builder().weights(weights).device(Device.cuda(0)).precision(p)
                    .batchBuckets(x.dim(0)).build()) {
                Tensor l = m.forward(x);
                l = m.forward(x); // the second run replays the captured graph
                Npy.write(outDir.resolve("jresnet_" + p.id() + ".npy"), l);
                System.out.println("jresnet " + p.id() + ": " + m.deviceDescription() + " -> " + l.shape());
                reportConvolutions(m.cudaEngine().orElseThrow(), p, x.dim(0), outDir);
            }
        }
    }

    /**
     * One line per precision: how many convolutions fell back from the fused cuDNN call (and why), and how many
     * use each forward algorithm; the algorithm of every layer goes to OUTDIR/algorithms_PRECISION.txt.
     */
    static void reportConvolutions(CudaResNet engine, Precision p, int batch, Path outDir) throws IOException {
        record Convolutions(Map<String, ConvAlgorithms.Choice> algorithms, Map<String, String> unfused) {}
        Convolutions convs = engine.withContext(c -> new Convolutions(c.algorithms(batch), c.unfusedLayers()));
        Map<String, ConvAlgorithms.Choice> algorithms = convs.algorithms();
        Map<String, String> unfused = convs.unfused();
        Map<String, List<String>> byAlgorithm = new TreeMap<>();
        List<String> lines = new ArrayList<>();
        algorithms.forEach((layer, c) -> {
            String name = ConvForwardLab.algorithmName(c.algo());
            byAlgorithm.computeIfAbsent(name, k -> new ArrayList<>()).add(layer);
            lines.add(layer + " " + name + " math " + c.mathType() + " workspace " + c.workspaceBytes() + " (" + c.how()
                    + ")" + (unfused.containsKey(layer) ? " UNFUSED: " + unfused.get(layer) : ""));
        });
        Files.write(outDir.resolve("algorithms_" + p.id() + ".txt"), lines);
        System.out.println("jresnet " + p.id() + " convolutions: " + unfused.size() + " of " + algorithms.size()
                + " fell back from the fused call" + (unfused.isEmpty() ? "" : " " + unfused));
        byAlgorithm.forEach((algo, layers) -> System.out.println("jresnet " + p.id() + " " + algo + " ("
                + layers.size() + "): " + String.join(" ", layers)));
    }

    static void bench(Path weights, Path csv, int[] batches, double seconds) throws IOException {
        List<String> rows = new ArrayList<>();
        record Config(Precision precision, boolean graphs) {}
        List<Config> configs = List.of(new Config(Precision.FP32, true), new Config(Precision.TF32, true),
                new Config(Precision.FP16, true), new Config(Precision.FP16, false));
        for (Config c : configs) {
            ResNet.Builder b = ResNet.builder().weights(weights).device(Device.cuda(0)).precision(c.precision())
                    .cudaGraphs(c.graphs()).maxContexts(1);
            b.batchBuckets(batches);
            try (ResNet m = b.build()) {
                CudaResNet engine = m.cudaEngine().orElseThrow();
                System.out.println(m.deviceDescription());
                for (int n : batches) {
                    try (DeviceTensor in = engine.allocateInput(n); DeviceTensor out = engine.allocateOutput(n)) {
                        Tensor x = randomInput(n);
                        in.upload(java.nio.FloatBuffer.wrap(x.data()));
                        double ms = time(engine, in, out, seconds);
                        String impl = "jresnet " + (c.graphs() ? "graphs" : "eager");
                        String row = String.format(Locale.ROOT, "%s,%s,%d,%.4f,%.1f,%.2f", impl, c.precision().id(), n,
                                ms, n * 1000 / ms, n * GFLOP_PER_IMAGE / ms);
                        System.out.println(row);
                        rows.add(row);
                    }
                }
            }
        }
        boolean exists = Files.exists(csv);
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(csv, exists
                ? java.nio.file.StandardOpenOption.APPEND : java.nio.file.StandardOpenOption.CREATE))) {
            if (!exists) {
                w.println("impl,precision,batch,ms_per_batch,images_per_s,tflops");
            }
            rows.forEach(w::println);
        }
    }

    /** Milliseconds per call: 3 warm-up calls (eager, capture, replay), then calls for about {@code seconds}. */
    static double time(CudaResNet engine, DeviceTensor in, DeviceTensor out, double seconds) {
        for (int i = 0; i < 5; i++) {
            engine.logits(in, out);
        }
        long t0 = System.nanoTime();
        engine.logits(in, out);
        double once = (System.nanoTime() - t0) / 1e9;
        int iters = (int) Math.max(5, Math.min(5000, seconds / Math.max(once, 1e-6)));
        t0 = System.nanoTime();
        for (int i = 0; i < iters; i++) {
            engine.logits(in, out);
        }
        return (System.nanoTime() - t0) / 1e6 / iters;
    }

    private static Tensor randomInput(int n) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(n);
        Tensor t = Tensor.zeros(Shape.of(n, 3, 224, 224));
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) (r.nextDouble() * 4 - 2);
        }
        return t;
    }
}
