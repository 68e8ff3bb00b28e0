package dev.jresnet.bench;

import dev.jresnet.cpu.Blocked;
import dev.jresnet.cpu.DirectConv;
import dev.jresnet.cpu.FusedConv;
import dev.jresnet.cuda.Doctor;
import dev.jresnet.tensor.Shape;
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

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One fused convolution (conv + batch norm + ReLU, the residual on the expand) as the engine runs it, on all
 * threads: {@code direct} on blocked activations ({@link DirectConv}, with its tile), {@code winograd} (the
 * engine's default: the same, with a 3x3 stride-1 layer of up to 256 channels by Winograd's F(2x2, 3x3) and the other
 * 3x3 layers summed tap by tap) or {@code gemm}, im2col + the GEMM kernel on [N, C, H, W] ({@link FusedConv}). direct
 * and gemm give bit for bit the same outputs, winograd within 1e-6 relative L2 of them (checked at set-up).
 * Average time per convolution of the batch; the GFLOP of each is printed at set-up:
 * <pre>
 *   stem      3 -> 64,  7x7 stride 2, 224x224    0.236 GFLOP per image (direct: planar input)
 *   layer1    64 -> 64, 3x3, 56x56               0.231
 *   layer2    128 -> 128, 3x3, 28x28             0.231
 *   layer3    256 -> 256, 3x3, 14x14             0.231
 *   expand3   256 -> 1024, 1x1 + residual, 14x14 0.103
 *   layer4    512 -> 512, 3x3, 7x7               0.231 (winograd: tap by tap)
 *   down2     128 -> 128, 3x3 stride 2, 56x56    0.231 (winograd: tap by tap)
 * </pre>
 * Run with {@code java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar DirectConvBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class DirectConvBenchmark {

    @Param({"direct", "winograd", "gemm"})
    public String conv;

    @Param({"stem", "layer1", "layer2", "layer3", "expand3", "layer4", "down2"})
    public String shape;

    @Param({"1", "8"})
    public int batch;

    private Runnable run;

    @Setup(Level.Trial)
    public void setUp() {
        int c, k, size, r, stride, pad;
        boolean residual = false;
        switch (shape) {
            case "stem" -> { c = 3; k = 64; size = 224; r = 7; stride = 2; pad = 3; }
            case "layer1" -> { c = 64; k = 64; size = 56; r = 3; stride = 1; pad = 1; }
            case "layer2" -> { c = 128; k = 128; size = 28; r = 3; stride = 1; pad = 1; }
            case "layer3" -> { c = 256; k = 256; size = 14; r = 3; stride = 1; pad = 1; }
            case "expand3" -> { c = 256; k = 1024; size = 14; r = 1; stride = 1; pad = 0; residual = true; }
            case "layer4" -> { c = 512; k = 512; size = 7; r = 3; stride = 1; pad = 1; }
            case "down2" -> { c = 128; k = 128; size = 56; r = 3; stride = 2; pad = 1; }
            default -> throw new IllegalArgumentException("unknown shape " + shape);
        }
        SplittableRandom rnd = new SplittableRandom(c * 31L + k);
        Tensor w = random(rnd, k, c, r, r), gamma = random(rnd, k), beta = random(rnd, k), mean = random(rnd, k);
        Tensor var = random(rnd, k);
        for (int i = 0; i < k; i++) {
            var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        }
        Tensor x = random(rnd, batch, c, size, size);
        FusedConv fused = FusedConv.of(w, stride, pad, 1, gamma, beta, mean, var, 1e-5f);
        int p = fused.outSize(size);
        Tensor res = residual ? random(rnd, batch, k, p, p) : null;
        Tensor want = fused.forward(x, res, true);
        System.out.printf("%s %s batch %d: %.3f GFLOP per op%n", conv, shape, batch,
                2.0 * batch * k * c * r * r * p * p / 1e9);
        if (conv.equals("gemm")) {
            Tensor y = Tensor.zeros(want.shape());
            run = () -> fused.forward(y, x, res, true);
            return;
        }
        if (!conv.equals("direct") && !conv.equals("winograd")) {
            throw new IllegalArgumentException("unknown conv " + conv + " (direct, winograd, gemm)");
        }
        boolean winograd = conv.equals("winograd");
        DirectConv d = DirectConv.of(w, stride, pad, gamma, beta, mean, var, 1e-5f, DirectConv.defaultBlocks(),
                DirectConv.defaultPixels(), winograd);
        int l = DirectConv.lanes();
        Tensor y = Tensor.zeros(Blocked.shape(batch, k, p, p, l));
        if (d.planar()) {
            Tensor padded = Tensor.zeros(d.paddedShape(x.shape()));
            run = () -> d.forwardPlanar(y, x, padded, true);
        } else {
            Tensor bx = blocked(x, l), bres = res == null ? null : blocked(res, l);
            run = () -> d.forward(y, bx, bres, true);
        }
        run.run();
        Tensor got = Tensor.zeros(want.shape());
        Blocked.toNchw(got, y);
        double err = Doctor.relativeL2(got.data(), want.data());
        if (d.winograd() || d.byTaps() ? err > 1e-6 : !Arrays.equals(want.data(), got.data())) {
            throw new IllegalStateException(conv + " " + shape + " differs from the GEMM convolution: relative L2 "
                    + err);
        }
    }

    @Benchmark
    public void convolution() {
        run.run();
    }

    private static Tensor blocked(Tensor t, int lanes) {
        Tensor b = Tensor.zeros(Blocked.shape(t.dim(0), t.dim(1), t.dim(2), t.dim(3), lanes));
        Blocked.fromNchw(b, t);
        return b;
    }

    private static Tensor random(SplittableRandom rnd, int... dims) {
        Tensor t = Tensor.zeros(Shape.of(dims));
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) rnd.nextGaussian();
        }
        return t;
    }
}
