package dev.jresnet.bench;

import dev.jresnet.cuda.GpuTensor;
import dev.jresnet.cuda.train.GpuTrainDevice;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.Sgd;
import dev.jresnet.train.Trainer;
import dev.jresnet.train.Unfreeze;
import dev.jresnet.weights.WeightSets;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The training step of {@code bench/gpu-check.sh} (GPU machine):
 * <pre>
 *   GpuTrainCheck WEIGHTS.pth OUT.csv [BATCH=64] [SECONDS=3]
 * </pre>
 * Fine-tuning speed with a new 10-class head and layer4 + fc trainable (batch norm on running statistics), SGD
 * momentum 0.9, label smoothing 0.1: each step uploads a host batch [BATCH,3,224,224], runs the frozen prefix, the
 * training forward and backward, the update, and downloads loss and logits (as {@code torch_peer.py train} does
 * with {@code loss.item()}). fp32 (exact) and tf32. Then head-only epochs from a cached feature set [1024, 2048]
 * (16 steps of 64). Appends rows {@code impl,precision,batch,ms_per_batch,images_per_s,tflops} (tflops 0).
 */
public final class GpuTrainCheck {
    private GpuTrainCheck() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: GpuTrainCheck WEIGHTS.pth OUT.csv [BATCH] [SECONDS]");
            System.exit(2);
        }
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        double seconds = args.length > 3 ? Double.parseDouble(args[3]) : 3.0;
        Network pretrained = new Network(Architecture.imagenet());
        WeightBinding.load(pretrained, WeightSets.read(Path.of(args[0])));
        List<String> rows = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(5);
        Tensor x = Tensor.zeros(batch, 3, 224, 224);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] = (float) (r.nextDouble() * 4 - 2);
        }
        int[] labels = new int[batch];
        for (int i = 0; i < batch; i++) {
            labels[i] = i % 10;
        }
        for (Precision p : new Precision[] {Precision.FP32, Precision.TF32}) {
            try (Trainer<GpuTensor> net = GpuTrainDevice.trainer(pretrained.withNewHead(10, 1), Unfreeze.LAYER4, false,
                    new Sgd(0.9f, 0f, false), 0.1f, 0f, 0, p)) {
                System.out.println(net.description());
                Runnable step = () -> net.trainStep(x, false, labels, 0.01f);
                float first = net.trainStep(x, false, labels, 0.01f).loss();
                double ms = time(step, seconds);
                float last = net.trainStep(x, false, labels, 0.01f).loss();
                System.out.printf(Locale.ROOT, "  loss %.4f -> %.4f over the timed steps (same batch)%n", first, last);
                rows.add(row("jresnet train layer4", p.id(), batch, ms, batch));
            }
        }
        try (Trainer<GpuTensor> net = GpuTrainDevice.trainer(pretrained.withNewHead(10, 1), Unfreeze.FC, false,
                new Sgd(0.9f, 0f, false), 0.1f, 0f, 0, Precision.FP32)) {
            int cached = 1024;
            Tensor[] feats = new Tensor[cached / 64];
            int[][] ls = new int[feats.length][64];
            for (int b = 0; b < feats.length; b++) {
                feats[b] = Tensor.zeros(64, 2048);
                for (int i = 0; i < feats[b].size(); i++) {
                    feats[b].data()[i] = (float) r.nextDouble();
                }
                for (int i = 0; i < 64; i++) {
                    ls[b][i] = (b * 64 + i) % 10;
                }
            }
            Runnable epoch = () -> {
                for (int b = 0; b < feats.length; b++) {
                    net.trainStep(feats[b], true, ls[b], 0.01f);
                }
            };
            epoch.run();
            double ms = time(epoch, seconds);
            System.out.printf(Locale.ROOT, "head only from cached features: %.1f epochs/s of %d images%n", 1000 / ms,
                    cached);
            rows.add(row("jresnet head epoch (cached)", "fp32", cached, ms, cached));
        }
        Path csv = Path.of(args[1]);
        boolean exists = Files.exists(csv);
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(csv, exists ? StandardOpenOption.APPEND
                : StandardOpenOption.CREATE))) {
            if (!exists) {
                w.println("impl,precision,batch,ms_per_batch,images_per_s,tflops");
            }
            rows.forEach(w::println);
        }
    }

    private static String row(String impl, String prec, int batch, double ms, int images) {
        String row = String.format(Locale.ROOT, "%s,%s,%d,%.4f,%.1f,0", impl, prec, batch, ms, images * 1000 / ms);
        System.out.println(row);
        return row;
    }

    /** Milliseconds per call after 2 warm-up calls, for about {@code seconds}. */
    static double time(Runnable r, double seconds) {
        r.run();
        r.run();
        long t0 = System.nanoTime();
        r.run();
        double once = (System.nanoTime() - t0) / 1e9;
        int iters = (int) Math.max(3, Math.min(2000, seconds / Math.max(once, 1e-6)));
        t0 = System.nanoTime();
        for (int i = 0; i < iters; i++) {
            r.run();
        }
        return (System.nanoTime() - t0) / 1e6 / iters;
    }
}
