package dev.jresnet.cuda;

import dev.jresnet.testing.GpuConvCase;
import dev.jresnet.testing.GpuRounding;
import dev.jresnet.testing.PrecisionOps;
import dev.jresnet.testing.Summation;
import dev.jresnet.testing.TestNets;
import dev.jresnet.testing.Tolerances;
import dev.jresnet.cpu.CpuOps;
import dev.jresnet.image.Preset;
import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Half;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every {@link GpuOps} op against its {@link CpuOps} twin, per precision: fp32 against the CPU ops, tf32 and fp16
 * against the same ops rounding as the precision does ({@link PrecisionOps}), within {@link Tolerances#op}.
 */
@Tag("gpu")
class GpuOpsGpuTest {
    private static GpuHarness gpu;

    @BeforeEach
    void open() {
        GpuTests.assumeCudnn();
        GpuTests.assumeCublas();
        GpuTests.assumeNvrtc();
        if (gpu == null) {
            gpu = new GpuHarness();
        }
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
            gpu = null;
        }
    }

    /** Asserts {@code actual} within {@link Tolerances#op} of {@code expected}; {@code other} explains a failure. */
    private static void assertClose(Precision p, Tensor expected, Tensor actual, String what,
                                    java.util.function.Supplier<String> other) {
        assertEquals(expected.shape(), actual.shape(), what);
        double err = TestNets.relL2(actual.data(), expected.data());
        System.out.printf("%s %s: relative L2 error %.3e%n", p, what, err);
        if (err > Tolerances.op(p)) {
            fail(p + " " + what + ": relative L2 error " + err + " > " + Tolerances.op(p) + other.get());
        }
    }

    private static void assertClose(Precision p, Tensor expected, Tensor actual, String what) {
        assertClose(p, expected, actual, what, () -> "");
    }

    /** A GPU convolution's result and how it ran: fused or not, tensor cores or FMA math. */
    record ConvRun(Tensor out, boolean fused, boolean tensorOps) {}

    private static ConvRun conv(Precision p, Tensor x, Tensor w, Tensor b, Tensor z, GpuConvCase cc, boolean fused) {
        int q = cc.outSize();
        GpuTensor out = gpu.zeros(p, cc.n(), cc.k(), q, q);
        CudaPrecision c = CudaPrecision.of(p);
        // A convolution's bias has the activations' element type (cuDNN's FLOAT and PSEUDO_HALF configurations).
        GpuTensor bias = b == null ? null : GpuTensor.allocate("bias", c.element(), c.layout(), b.dim(0));
        if (bias != null) {
            gpu.ops(p).upload(bias, b);
        }
        GpuTensor in = gpu.up(p, x), weight = gpu.up(p, w);
        if (fused) {
            gpu.ops(p).conv2dBiasRelu(out, in, weight, bias, z == null ? null : gpu.up(p, z), cc.stride(), cc.pad(),
                    cc.groups());
        } else {
            gpu.ops(p).conv2d(out, in, weight, bias, cc.stride(), cc.pad(), cc.groups());
        }
        GpuOps.ConvPlan plan = gpu.ops(p).plan(out, in, weight, cc.stride(), cc.pad(), cc.groups());
        boolean tensorOps = ConvolutionDescriptor.MathType.of(plan.forward.mathType())
                != ConvolutionDescriptor.MathType.FMA;
        Tensor result = gpu.down(p, out);
        if (bias != null) {
            bias.close();
        }
        return new ConvRun(result, plan.fused(), tensorOps);
    }

    /**
     * What a failure of a reduced-precision convolution may mean: the distance of the GPU's result to the other
     * rounding its precision could have done (fp16: the other epilogue; tf32: operands truncated).
     */
    private static java.util.function.Supplier<String> otherRounding(Precision p, ConvRun run, Tensor x, Tensor w,
                                                                     Tensor b, Tensor z, GpuConvCase cc) {
        return () -> {
            if (p == Precision.FP32) {
                return "";
            }
            PrecisionOps other = p == Precision.TF32
                    ? new PrecisionOps(p, Summation.GEMM, GpuRounding.Tf32.TRUNCATE) : PrecisionOps.of(p);
            boolean fused = p == Precision.TF32 ? run.fused() : !run.fused();
            Tensor alt = other.conv2dBiasRelu(x, w, b, z, cc.stride(), cc.pad(), cc.groups(), fused, run.tensorOps());
            return String.format(java.util.Locale.ROOT, " (relative L2 to the %s: %.3e; fused %s, tensor ops %s)",
                    p == Precision.TF32 ? "reference with TF32 operands truncated" : "other epilogue's rounding",
                    TestNets.relL2(run.out().data(), alt.data()), run.fused(), run.tensorOps());
        };
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void conv2dBiasReluMatchesCpu(Precision p) {
        SplittableRandom r = new SplittableRandom(1);
        for (GpuConvCase cc : GpuConvCase.ALL) {
            Tensor x = cc.input(r);
            Tensor w = cc.weight(r);
            Tensor b = TestNets.random(r, 0.5, cc.k());
            ConvRun run = conv(p, x, w, b, null, cc, true);
            Tensor expected = PrecisionOps.of(p).conv2dBiasRelu(x, w, b, null, cc.stride(), cc.pad(), cc.groups(),
                    run.fused(), run.tensorOps());
            assertClose(p, expected, run.out(), "conv2dBiasRelu " + cc, otherRounding(p, run, x, w, b, null, cc));
        }
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void conv2dBiasReluWithResidualMatchesCpu(Precision p) {
        SplittableRandom r = new SplittableRandom(2);
        Tensor x = TestNets.random(r, 1, 2, 64, 14, 14);
        Tensor w = TestNets.random(r, 1 / 8.0, 256, 64, 1, 1);
        Tensor b = TestNets.random(r, 0.5, 256);
        Tensor z = TestNets.random(r, 1, 2, 256, 14, 14);
        GpuConvCase cc = new GpuConvCase(2, 64, 14, 256, 1, 1, 0, 1);
        ConvRun run = conv(p, x, w, b, z, cc, true);
        Tensor expected = PrecisionOps.of(p).conv2dBiasRelu(x, w, b, z, 1, 0, 1, run.fused(), run.tensorOps());
        assertClose(p, expected, run.out(), "conv2dBiasRelu with residual", otherRounding(p, run, x, w, b, z, cc));
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void conv2dMatchesCpu(Precision p) {
        SplittableRandom r = new SplittableRandom(3);
        for (GpuConvCase cc : List.of(new GpuConvCase(2, 64, 14, 256, 1, 2, 0, 1), GpuConvCase.ALL.get(5))) {
            Tensor x = cc.input(r);
            Tensor w = cc.weight(r);
            ConvRun run = conv(p, x, w, null, null, cc, false);
            Tensor expected = PrecisionOps.of(p).conv2d(x, w, null, cc.stride(), cc.pad(), cc.groups(),
                    run.tensorOps());
            assertClose(p, expected, run.out(), "conv2d " + cc);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "TF32"})
    void batchNormReluAddAndSoftmaxMatchCpu(Precision p) {
        SplittableRandom r = new SplittableRandom(8);
        Tensor x = TestNets.random(r, 2, 2, 16, 9, 9);
        Tensor gamma = TestNets.random(r, 1, 16), beta = TestNets.random(r, 1, 16), mean = TestNets.random(r, 1, 16);
        Tensor var = TestNets.random(r, 1, 16);
        for (int i = 0; i < 16; i++) {
            var.data()[i] = Math.abs(var.data()[i]) + 0.1f;
        }
        Tensor expected = Tensor.zeros(x.shape());
        CpuOps.batchNorm(expected, x, gamma, beta, mean, var, 1e-5f, true);
        GpuTensor out = gpu.zeros(p, 2, 16, 9, 9);
        gpu.ops(p).batchNorm(out, gpu.up(p, x), gpu.up(gamma), gpu.up(beta), gpu.up(mean), gpu.up(var), 1e-5f, true);
        assertArrayEquals(expected.data(), gpu.down(p, out).data(), "batch norm + ReLU (train.cu, CpuOps's formula)");

        Tensor y = TestNets.random(r, 2, 2, 16, 9, 9);
        Tensor sum = Tensor.zeros(x.shape());
        CpuOps.add(sum, x, y, false);
        GpuTensor gs = gpu.zeros(p, 2, 16, 9, 9);
        gpu.ops(p).add(gs, gpu.up(p, x), gpu.up(p, y), false);
        assertArrayEquals(sum.data(), gpu.down(p, gs).data(), "add");
        CpuOps.relu(sum, sum);
        gpu.ops(p).relu(gs, gs);
        assertArrayEquals(sum.data(), gpu.down(p, gs).data(), "relu");

        Tensor logits = TestNets.random(r, 5, 3, 1000);
        Tensor probs = Tensor.zeros(3, 1000);
        CpuOps.softmax(probs, logits);
        GpuTensor gp = gpu.zeros(p, 3, 1000);
        gpu.ops(p).softmax(gp, gpu.up(logits));
        assertClose(Precision.FP32, probs, gpu.down(gp), "softmax");
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void maxPoolMatchesCpu(Precision p) {
        SplittableRandom r = new SplittableRandom(4);
        Tensor x = TestNets.random(r, 3, 2, 64, 21, 21);
        Tensor expected = Tensor.zeros(2, 64, 11, 11);
        CpuOps.maxPool(expected, x, 3, 2, 1);
        GpuTensor out = gpu.zeros(p, 2, 64, 11, 11);
        gpu.ops(p).maxPool(out, gpu.up(p, x), 3, 2, 1);
        if (p == Precision.FP16) {
            // max of fp16-rounded values is the fp16-rounded max
            for (int i = 0; i < expected.size(); i++) {
                expected.data()[i] = Half.f16ToFloat(Half.floatToF16(expected.data()[i]));
            }
        }
        assertArrayEquals(expected.data(), gpu.down(p, out).data(), p + " max pool");
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void globalAvgPoolAndLinearMatchCpu(Precision p) {
        SplittableRandom r = new SplittableRandom(5);
        Tensor x = TestNets.random(r, 2, 3, 2048, 7, 7);
        Tensor w = TestNets.random(r, 0.02, 1000, 2048);
        Tensor b = TestNets.random(r, 0.1, 1000);
        PrecisionOps ops = PrecisionOps.of(p);
        Tensor pooled = ops.globalAvgPool(x);
        Tensor expected = ops.linear(pooled, w, b);
        GpuTensor gp = gpu.zeros(3, 2048);
        gpu.ops(p).globalAvgPool(gp, gpu.up(p, x));
        GpuTensor out = gpu.zeros(3, 1000);
        gpu.ops(p).linear(out, gp, gpu.up(w), gpu.up(b));
        Tensor actual = gpu.down(out);
        if (p == Precision.TF32) {
            // FAST_TF32 allows tensor cores; cuBLAS may still run a 3-column GEMM in fp32, and does not say which
            Tensor fp32 = PrecisionOps.of(Precision.FP32).linear(pooled, w, b);
            double toFp32 = TestNets.relL2(actual.data(), fp32.data());
            System.out.printf("TF32 global average pool + linear: relative L2 error to an fp32 GEMM %.3e%n", toFp32);
            if (toFp32 < TestNets.relL2(actual.data(), expected.data())) {
                expected = fp32;
            }
        }
        assertClose(p, expected, actual, "global average pool + linear");
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "FP16"})
    void preprocessingMatchesPreset(Precision p) {
        SplittableRandom r = new SplittableRandom(6);
        int n = 2;
        byte[] all = new byte[n * 224 * 224 * 3];
        Tensor expected = Tensor.zeros(n, 3, 224, 224);
        for (int i = 0; i < n; i++) {
            byte[] px = new byte[224 * 224 * 3];
            for (int j = 0; j < px.length; j++) {
                px[j] = (byte) r.nextInt(256);
            }
            System.arraycopy(px, 0, all, i * px.length, px.length);
            System.arraycopy(Preset.TORCHVISION_V1.normalize(new RgbImage(224, 224, px)).data(), 0, expected.data(),
                    i * 3 * 224 * 224, 3 * 224 * 224);
        }
        GpuOps ops = gpu.ops(p);
        try (DeviceMemory in = DeviceMemory.allocate(all.length, "test 8-bit images")) {
            in.buffer().upload(ops.stream(), all);
            GpuTensor out = gpu.zeros(p, n, 3, 224, 224);
            if (p == Precision.FP16) {
                gpu.kernels.preprocessU8ToNhwcF16(ops.stream(), in.buffer(), out.buffer(), n, 224, 224,
                        Preset.TORCHVISION_V1.mean(), Preset.TORCHVISION_V1.std());
            } else {
                gpu.kernels.preprocessU8ToNchwF32(ops.stream(), in.buffer(), out.buffer(), n, 224, 224,
                        Preset.TORCHVISION_V1.mean(), Preset.TORCHVISION_V1.std());
            }
            Tensor actual = gpu.down(p, out);
            if (p == Precision.FP32) {
                assertArrayEquals(expected.data(), actual.data(), "fp32 preprocessing is bit-exact");
            } else {
                for (int i = 0; i < expected.size(); i++) {
                    assertEquals(Half.f16ToFloat(Half.floatToF16(expected.data()[i])), actual.data()[i],
                            "fp16 preprocessing at " + i);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void badShapesNameTheShapes(Precision p) {
        SplittableRandom r = new SplittableRandom(7);
        GpuTensor x = gpu.up(p, TestNets.random(r, 1, 1, 8, 10, 10));
        GpuTensor w = gpu.up(p, TestNets.random(r, 1, 4, 3, 3, 3));
        GpuTensor out = gpu.zeros(p, 1, 4, 10, 10);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gpu.ops(p).conv2d(out, x, w, null, 1, 1, 1));
        assertTrue(e.getMessage().contains("[1, 8, 10, 10]") && e.getMessage().contains("[4, 3, 3, 3]"), e.getMessage());
    }
}
