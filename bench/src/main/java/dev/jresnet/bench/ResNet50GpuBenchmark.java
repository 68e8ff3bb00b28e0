package dev.jresnet.bench;

import dev.jresnet.cuda.DeviceTensor;
import dev.jresnet.resnet.Device;
import dev.jresnet.tensor.Precision;
import dev.jresnet.resnet.ResNet;
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

import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The whole ResNet-50 forward pass on the GPU, 224x224, seeded untrained weights: device tensor in, device tensor
 * out ({@code model.logits(in, out)}, which returns when the stream is done), CUDA graphs on, one graph bucket of
 * exactly {@code batch}, one execution context. Average time per batch in ms; images/s = batch / that time.
 * Parameters {@code batch} (1, 32, 256) and {@code precision} (fp32, tf32, fp16).
 *
 * <p>Without a usable GPU the trial is skipped with a warning (see {@link GpuBenchmarks}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class ResNet50GpuBenchmark {
    @Param({"1", "32", "256"})
    public int batch;

    @Param({"fp32", "tf32", "fp16"})
    public String precision;

    private ResNet model;
    private DeviceTensor in;
    private DeviceTensor out;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        if (GpuBenchmarks.skipIfNoGpu("ResNet50GpuBenchmark") != null) {
            return;
        }
        model = ResNet.builder().device(Device.cuda(0)).precision(Precision.parse(precision)).batchBuckets(batch)
                .cudaGraphs(true).maxContexts(1).build();
        in = model.allocateInput(batch);
        out = model.allocateOutput(batch);
        float[] x = new float[batch * 3 * 224 * 224];
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        in.upload(FloatBuffer.wrap(x));
        for (int i = 0; i < 3; i++) {
            model.logits(in, out); // eager, then graph capture, then replay
        }
        System.out.println(model.deviceDescription());
    }

    @Benchmark
    public void forward() {
        if (model != null) {
            model.logits(in, out);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (model == null) {
            GpuBenchmarks.skipIfNoGpu("ResNet50GpuBenchmark");
            return;
        }
        model.close(); // also frees the device tensors it allocated
        model = null;
    }
}
