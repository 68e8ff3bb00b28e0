package dev.jresnet.bench;

import dev.jresnet.tensor.Precision;
import dev.jresnet.graph.Architecture;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One cuDNN forward convolution ({@code cudnnConvolutionForward}, then a stream synchronisation: host-side time,
 * launch overhead included) at four ResNet-50 shapes, batch 32, in each precision, with the engine's pick or a
 * named algorithm. Average time per convolution in µs. The shapes (the kernel lab's labels; FLOPs at batch 32):
 * <pre>
 *   stem    3x224x224 -> 64, 7x7/2 p3      7.55 GFLOP
 *   layer1  64x56x56 -> 64, 3x3/1 p1       7.40 GFLOP
 *   layer3  256x14x14 -> 1024, 1x1/1 p0    3.29 GFLOP
 *   layer4  512x7x7 -> 512, 3x3/1 p1       7.40 GFLOP
 * </pre>
 * {@code algo}: "engine" (ConvAlgorithms' heuristic pick, as the engine runs it) or a
 * {@code CUDNN_CONVOLUTION_FWD_ALGO_*} name without the prefix (e.g. IMPLICIT_PRECOMP_GEMM, WINOGRAD); an
 * algorithm that does not apply to the shape fails the trial with cuDNN's status. The output is not validated here:
 * {@code jresnet bench --layers --device cuda} does that.
 *
 * <p>Without a usable GPU the trial is skipped with a warning (see {@link GpuBenchmarks}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ConvGpuBenchmark {
    @Param({"stem", "layer1", "layer3", "layer4"})
    public String shape;

    @Param({"fp32", "tf32", "fp16"})
    public String precision;

    @Param({"engine"})
    public String algo;

    @Param({"32"})
    public int batch;

    private ConvForwardLab lab;
    private ConvForwardLab.Problem problem;
    private int algorithm;
    private long workspace;

    /** The kernel lab's shape for a parameter value. */
    static ConvShape shapeOf(String name) {
        String label = switch (name) {
            case "stem" -> "3x224x224 -> 64, 7x7/2 p3";
            case "layer1" -> "64x56x56 -> 64, 3x3/1 p1";
            case "layer3" -> "256x14x14 -> 1024, 1x1/1 p0";
            case "layer4" -> "512x7x7 -> 512, 3x3/1 p1";
            default -> throw new IllegalArgumentException("unknown shape " + name + " (stem, layer1, layer3, layer4)");
        };
        List<ConvShape> all = ConvShape.of(Architecture.imagenet(), 224);
        return all.stream().filter(s -> s.label().equals(label)).findFirst()
                .orElseThrow(() -> new IllegalStateException("ResNet-50 has no convolution " + label));
    }

    @Setup(Level.Trial)
    public void setUp() {
        ConvShape s = shapeOf(shape);
        if (GpuBenchmarks.skipIfNoGpu("ConvGpuBenchmark") != null) {
            return;
        }
        Precision p = Precision.parse(precision);
        lab = ConvForwardLab.open(0);
        problem = lab.prepare(p, CudaConvBackend.shape(s, batch), LayerLab.input(s, batch, 1), LayerLab.weight(s, 1));
        algorithm = algo.equals("engine") ? problem.engineChoice().algo() : ConvForwardLab.algorithm(algo);
        ConvForwardLab.WorkspaceQuery q = problem.workspace(algorithm);
        if (!q.supported()) {
            throw new IllegalStateException(ConvForwardLab.algorithmName(algorithm) + " does not apply to " + s.label()
                    + " in " + precision + ": " + q.status());
        }
        workspace = q.bytes();
        problem.forward(algorithm, workspace);
        System.out.println(String.format(Locale.ROOT, "%s, %s, %s, batch %d: %s (%s), workspace %.1f MiB, "
                        + "%.3f GFLOP per op", lab.device().name(), s.label(), precision, batch,
                ConvForwardLab.algorithmName(algorithm), algo, workspace / 1048576.0,
                s.flopsPerImage() * (double) batch / 1e9));
    }

    @Benchmark
    public void forward() {
        if (problem != null) {
            problem.forward(algorithm, workspace);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (lab == null) {
            GpuBenchmarks.skipIfNoGpu("ConvGpuBenchmark");
            return;
        }
        if (problem != null) {
            problem.close();
            problem = null;
        }
        lab.close();
        lab = null;
    }
}
