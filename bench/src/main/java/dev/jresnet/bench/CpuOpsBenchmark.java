package dev.jresnet.bench;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.cpu.Gemm;
import dev.jresnet.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * conv2d at ResNet-50 shapes, batch 8, on each GEMM kernel. Reports ops/s, one op being one conv over
 * the whole batch; multiply by the FLOPs below (2 * N*K*P*Q * C*R*S) for FLOP/s:
 * <pre>
 *   stem    in [8,3,224,224]   weight [64,3,7,7]     stride 2 pad 3  out [8,64,112,112]   0.944 GFLOP
 *   layer1  in [8,64,56,56]    weight [64,64,3,3]    stride 1 pad 1  out [8,64,56,56]     0.925 GFLOP
 *   layer3  in [8,256,14,14]   weight [1024,256,1,1] stride 1 pad 0  out [8,1024,14,14]   0.822 GFLOP
 *   layer4  in [8,512,7,7]     weight [512,512,3,3]  stride 1 pad 1  out [8,512,7,7]      1.850 GFLOP
 * </pre>
 * The kernel is chosen per trial through the system property {@code jresnet.cpu.kernel}, which
 * {@link Gemm} reads once per JVM, so each trial needs its own fork (the default; keep -f >= 1).
 * Run with {@code java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar CpuOpsBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class CpuOpsBenchmark {

    @Param({"vector", "plain"})
    public String kernel;

    @Param({"stem", "layer1", "layer3", "layer4"})
    public String shape;

    private Tensor in, weight, out;
    private int stride, padding;

    @Setup(Level.Trial)
    public void setUp() {
        // The forked JVM is fresh, so setting the property here happens before Gemm reads it.
        System.setProperty("jresnet.cpu.kernel", kernel);
        int n = 8;
        int c, hw, k, r;
        switch (shape) {
            case "stem" -> { c = 3; hw = 224; k = 64; r = 7; stride = 2; padding = 3; }
            case "layer1" -> { c = 64; hw = 56; k = 64; r = 3; stride = 1; padding = 1; }
            case "layer3" -> { c = 256; hw = 14; k = 1024; r = 1; stride = 1; padding = 0; }
            case "layer4" -> { c = 512; hw = 7; k = 512; r = 3; stride = 1; padding = 1; }
            default -> throw new IllegalArgumentException("unknown shape " + shape);
        }
        int p = (hw + 2 * padding - r) / stride + 1;
        in = random(1, n, c, hw, hw);
        weight = random(2, k, c, r, r);
        out = Tensor.zeros(n, k, p, p);
        String active = Gemm.kernelName();
        if (!active.startsWith(kernel)) {
            throw new IllegalStateException("asked for the " + kernel + " kernel but " + active + " is active;"
                    + " run each trial in its own fork");
        }
        System.out.println("kernel " + active + ", " + shape + ": " + String.format("%.3f", gflop(n, c, k, r, p))
                + " GFLOP per op");
    }

    @Benchmark
    public Tensor conv2d() {
        CpuOps.conv2d(out, in, weight, null, stride, padding);
        return out;
    }

    private static double gflop(int n, int c, int k, int r, int p) {
        return 2.0 * n * k * p * p * c * r * r / 1e9;
    }

    private static Tensor random(long seed, int... dims) {
        Tensor t = Tensor.zeros(dims);
        Random rnd = new Random(seed);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) rnd.nextGaussian();
        }
        return t;
    }
}
