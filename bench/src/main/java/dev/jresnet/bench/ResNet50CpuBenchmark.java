package dev.jresnet.bench;

import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Tensor;
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

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The whole ResNet-50 forward pass on the CPU, 224x224. Images/s = batch / (seconds per op). {@code engine} picks
 * the CPU engine ({@code jresnet.cpu.engine}): "onednn" (oneDNN's kernels) or "java" (jresnet's Java kernels);
 * {@code kernel} the Java engine's GEMM: "vector" (Vector API) or "plain" (the scalar reference loops).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 10)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class ResNet50CpuBenchmark {
    @Param({"1", "8"})
    public int batch;

    @Param({"vector"})
    public String kernel;

    @Param({"onednn", "java"})
    public String engine;

    private ResNet model;
    private Tensor input;

    @Setup(Level.Trial)
    public void setUp() {
        System.setProperty("jresnet.cpu.kernel", kernel);
        System.setProperty("jresnet.cpu.engine", engine);
        model = ResNet.untrained(0, Device.cpu());
        input = Tensor.zeros(batch, 3, 224, 224);
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < input.size(); i++) {
            input.data()[i] = (float) r.nextGaussian();
        }
    }

    @Benchmark
    public Tensor forward() {
        return model.forward(input);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }
}
