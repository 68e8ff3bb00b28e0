package dev.jresnet.bench;

import dev.jresnet.cpu.GemmKernel;
import dev.jresnet.cpu.VectorGemm;
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

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The Vector API GEMM's register tiles on ResNet-50's GEMM shapes at batch 1 and 8: C[M, N] = A · B[K, N] with
 * A (the weights) packed beforehand and B already im2col'd, so this times the micro-kernel and B's packing, on
 * all threads, split as the engine's convolutions split it ({@link GemmVariantLab#run}). Reports ops/s, one op
 * being one GEMM; multiply by 2·M·N·K for FLOP/s:
 * <pre>
 *   stem    M=64   K=147  N=12544·batch   (7x7/2, 3 -> 64)      0.236 GFLOP per image
 *   layer1  M=64   K=576  N=3136·batch    (3x3, 64 -> 64)       0.231 GFLOP per image
 *   layer3  M=1024 K=256  N=196·batch     (1x1, 256 -> 1024)    0.103 GFLOP per image
 *   layer4  M=512  K=4608 N=49·batch      (3x3, 512 -> 512)     0.231 GFLOP per image
 * </pre>
 * {@code tile} is a {@link VectorGemm#variant} name: "MRxNR" in floats, "/wide" for full-width edge strips
 * instead of narrow tiles (the 49 columns of layer4 at batch 1 are 48 + 1: 8x48 then 8x16, or 8x48 twice).
 * The defaults name 512-bit tiles; with AVX2 pass 256-bit ones ({@code -p tile=6x16,6x16/wide}). Each trial
 * runs in its own fork so that one tile's JIT profile does not shape another's.
 * Run with {@code java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar GemmTileBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmTileBenchmark {

    @Param({"8x48", "8x48/wide", "6x32"})
    public String tile;

    @Param({"stem", "layer1", "layer3", "layer4"})
    public String shape;

    @Param({"1", "8"})
    public int batch;

    private VectorGemm gemm;
    private GemmKernel.PackedMatrix a;
    private float[] b, c;
    private int n;

    @Setup(Level.Trial)
    public void setUp() {
        int m, k, pq;
        switch (shape) {
            case "stem" -> { m = 64; k = 147; pq = 12544; }
            case "layer1" -> { m = 64; k = 576; pq = 3136; }
            case "layer3" -> { m = 1024; k = 256; pq = 196; }
            case "layer4" -> { m = 512; k = 4608; pq = 49; }
            default -> throw new IllegalArgumentException("unknown shape " + shape);
        }
        n = pq * batch;
        gemm = VectorGemm.variant(tile);
        SplittableRandom rnd = new SplittableRandom(m * 31L + k);
        a = gemm.pack(m, k, GemmVariantLab.random(rnd, m * k), 0, k);
        b = GemmVariantLab.random(rnd, k * n);
        c = new float[m * n];
        System.out.printf("%s, %s batch %d: %.3f GFLOP per op%n", gemm.detail(), shape, batch, 2.0 * m * n * k / 1e9);
    }

    @Benchmark
    public float[] gemm() {
        GemmVariantLab.run(gemm, a, n, b, c);
        return c;
    }
}
