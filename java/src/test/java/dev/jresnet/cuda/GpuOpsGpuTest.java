package dev.jresnet.cuda;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.image.Preset;
import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Every op of the GPU network (the code the network runs) against the CPU reference, per precision. */
@Tag("gpu")
class GpuOpsGpuTest {
    private static CudaContext context;
    private static final Map<InferencePrecision, GpuOps> OPS = new EnumMap<>(InferencePrecision.class);

    @BeforeEach
    void open() {
        GpuTests.assumeCudnn();
        GpuTests.assumeCublas();
        GpuTests.assumeNvrtc();
        if (context == null) {
            context = CudaContext.open(0);
        }
    }

    @AfterAll
    static void close() {
        OPS.values().forEach(GpuOps::close);
        OPS.clear();
        if (context != null) {
            context.close();
            context = null;
        }
    }

    private static GpuOps ops(InferencePrecision p) {
        return OPS.computeIfAbsent(p, q -> new GpuOps(context, q));
    }

    /** fp32 1e-5, tf32 3e-3, fp16 1e-2 (relative L2). */
    private static double tolerance(InferencePrecision p) {
        return switch (p) {
            case FP32 -> 1e-5;
            case TF32 -> 3e-3;
            case FP16 -> 1e-2;
        };
    }

    private static void assertClose(InferencePrecision p, Tensor expected, Tensor actual, String what) {
        assertEquals(expected.shape(), actual.shape(), what);
        double err = TestNets.relL2(actual.data(), expected.data());
        System.out.printf("%s %s: relative L2 error %.3e%n", p, what, err);
        assertTrue(err <= tolerance(p), p + " " + what + ": relative L2 error " + err);
    }

    record ConvCase(int n, int c, int h, int k, int r, int stride, int pad) {}

    /** Shapes of ResNet-50's convolutions, smaller spatially: stem 7x7/2, 1x1, 3x3, strided 3x3 and 1x1. */
    private static final ConvCase[] CASES = {
            new ConvCase(2, 3, 32, 64, 7, 2, 3),
            new ConvCase(2, 64, 14, 64, 1, 1, 0),
            new ConvCase(3, 64, 14, 64, 3, 1, 1),
            new ConvCase(2, 128, 14, 128, 3, 2, 1),
            new ConvCase(2, 256, 8, 512, 1, 2, 0),
    };

    @ParameterizedTest
    @EnumSource(InferencePrecision.class)
    void fusedConvBiasReluMatchesCpu(InferencePrecision p) {
        SplittableRandom r = new SplittableRandom(1);
        for (ConvCase cc : CASES) {
            Tensor x = TestNets.random(r, 1, cc.n(), cc.c(), cc.h(), cc.h());
            Tensor w = TestNets.random(r, 1 / Math.sqrt(cc.c() * cc.r() * cc.r()), cc.k(), cc.c(), cc.r(), cc.r());
            Tensor b = TestNets.random(r, 0.5, cc.k());
            int q = (cc.h() + 2 * cc.pad() - cc.r()) / cc.stride() + 1;
            Tensor expected = Tensor.zeros(cc.n(), cc.k(), q, q);
            CpuOps.conv2d(expected, x, w, b, cc.stride(), cc.pad());
            CpuOps.relu(expected, expected);
            assertClose(p, expected, ops(p).conv(x, w, b, null, cc.stride(), cc.pad()), "conv+bias+relu " + cc);
        }
    }

    @ParameterizedTest
    @EnumSource(InferencePrecision.class)
    void fusedConvBiasResidualReluMatchesCpu(InferencePrecision p) {
        SplittableRandom r = new SplittableRandom(2);
        Tensor x = TestNets.random(r, 1, 2, 64, 14, 14);
        Tensor w = TestNets.random(r, 1 / 8.0, 256, 64, 1, 1);
        Tensor b = TestNets.random(r, 0.5, 256);
        Tensor z = TestNets.random(r, 1, 2, 256, 14, 14);
        Tensor expected = Tensor.zeros(2, 256, 14, 14);
        CpuOps.conv2d(expected, x, w, b, 1, 0);
        CpuOps.add(expected, expected, z, true);
        assertClose(p, expected, ops(p).conv(x, w, b, z, 1, 0), "conv+bias+residual+relu");
    }

    @ParameterizedTest
    @EnumSource(InferencePrecision.class)
    void plainConvolutionMatchesCpu(InferencePrecision p) {
        SplittableRandom r = new SplittableRandom(3);
        Tensor x = TestNets.random(r, 1, 2, 64, 14, 14);
        Tensor w = TestNets.random(r, 1 / 8.0, 256, 64, 1, 1);
        Tensor expected = Tensor.zeros(2, 256, 7, 7);
        CpuOps.conv2d(expected, x, w, null, 2, 0);
        assertClose(p, expected, ops(p).conv(x, w, null, null, 2, 0), "projection conv (no bias, no activation)");
    }

    @ParameterizedTest
    @EnumSource(InferencePrecision.class)
    void maxPoolMatchesCpu(InferencePrecision p) {
        SplittableRandom r = new SplittableRandom(4);
        Tensor x = TestNets.random(r, 3, 2, 64, 21, 21);
        Tensor expected = Tensor.zeros(2, 64, 11, 11);
        CpuOps.maxPool(expected, x, 3, 2, 1);
        Tensor actual = ops(p).maxPool(x, 3, 1, 2);
        if (p == InferencePrecision.FP16) {
            // max of fp16-rounded values is the fp16-rounded max
            for (int i = 0; i < expected.size(); i++) {
                expected.data()[i] = dev.jresnet.tensor.Half.f16ToFloat(dev.jresnet.tensor.Half.floatToF16(expected.data()[i]));
            }
        }
        assertArrayEquals(expected.data(), actual.data(), p + " max pool");
    }

    @ParameterizedTest
    @EnumSource(InferencePrecision.class)
    void headMatchesCpu(InferencePrecision p) {
        SplittableRandom r = new SplittableRandom(5);
        Tensor x = TestNets.random(r, 2, 3, 2048, 7, 7);
        Tensor w = TestNets.random(r, 0.02, 1000, 2048);
        Tensor b = TestNets.random(r, 0.1, 1000);
        Tensor pooled = Tensor.zeros(3, 2048);
        CpuOps.globalAvgPool(pooled, x);
        Tensor expected = Tensor.zeros(3, 1000);
        CpuOps.linear(expected, pooled, w, b);
        assertClose(p, expected, ops(p).head(x, w, b), "global average pool + fc");
    }

    @ParameterizedTest
    @EnumSource(value = InferencePrecision.class, names = {"FP32", "FP16"})
    void preprocessingMatchesPreset(InferencePrecision p) {
        SplittableRandom r = new SplittableRandom(6);
        List<RgbImage> crops = new ArrayList<>();
        Tensor expected = Tensor.zeros(2, 3, 224, 224);
        for (int i = 0; i < 2; i++) {
            byte[] px = new byte[224 * 224 * 3];
            for (int j = 0; j < px.length; j++) {
                px[j] = (byte) r.nextInt(256);
            }
            RgbImage img = new RgbImage(224, 224, px);
            crops.add(img);
            System.arraycopy(Preset.TORCHVISION_V1.normalize(img).data(), 0, expected.data(), i * 3 * 224 * 224, 3 * 224 * 224);
        }
        Tensor actual = ops(p).preprocess(crops, Preset.TORCHVISION_V1.mean(), Preset.TORCHVISION_V1.std());
        if (p == InferencePrecision.FP32) {
            assertArrayEquals(expected.data(), actual.data(), "fp32 preprocessing is bit-exact");
        } else {
            for (int i = 0; i < expected.size(); i++) {
                float h = dev.jresnet.tensor.Half.f16ToFloat(dev.jresnet.tensor.Half.floatToF16(expected.data()[i]));
                assertEquals(h, actual.data()[i], "fp16 preprocessing at " + i);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(InferencePrecision.class)
    void badShapesNameTheShapes(InferencePrecision p) {
        SplittableRandom r = new SplittableRandom(7);
        Tensor x = TestNets.random(r, 1, 1, 8, 10, 10);
        Tensor w = TestNets.random(r, 1, 4, 3, 3, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ops(p).conv(x, w, null, null, 1, 1));
        assertTrue(e.getMessage().contains("[1, 8, 10, 10]") && e.getMessage().contains("[4, 3, 3, 3]"), e.getMessage());
    }
}
