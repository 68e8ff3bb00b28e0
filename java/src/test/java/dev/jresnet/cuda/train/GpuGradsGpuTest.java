package dev.jresnet.cuda.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.cpu.CpuOps;
import dev.jresnet.cuda.GpuHarness;
import dev.jresnet.cuda.GpuOps;
import dev.jresnet.cuda.GpuTensor;
import dev.jresnet.cuda.GpuTests;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.GpuConvCase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every {@link GpuGrads} op against its {@link CpuGrads} twin, fp32, on random inputs. */
@Tag("gpu")
class GpuGradsGpuTest {
    private static GpuHarness gpu;
    private static GpuGrads grads;

    @BeforeEach
    void open() {
        GpuTests.assumeCudnn();
        GpuTests.assumeCublas();
        GpuTests.assumeNvrtc();
        if (gpu == null) {
            gpu = new GpuHarness();
            grads = new GpuGrads(gpu.ops(dev.jresnet.tensor.Precision.FP32));
        }
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            grads.close();
            gpu.close();
            gpu = null;
        }
    }

    private static GpuOps ops() {
        return grads.ops();
    }

    static Tensor random(SplittableRandom r, double scale, int... dims) {
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return t;
    }

    /** Max |a - b| / max(1e-30, max |b|). */
    static double maxRel(Tensor a, Tensor b) {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < b.size(); i++) {
            maxDiff = Math.max(maxDiff, Math.abs((double) a.data()[i] - b.data()[i]));
            maxRef = Math.max(maxRef, Math.abs(b.data()[i]));
        }
        return maxDiff / Math.max(1e-30, maxRef);
    }

    private static void close(String what, Tensor gpuResult, Tensor cpu, double tol) {
        double rel = maxRel(gpuResult, cpu);
        System.out.printf("%s: max rel %.3e%n", what, rel);
        assertTrue(rel <= tol, what + ": max relative error " + rel + " > " + tol);
    }

    @Test
    void linearBackward() {
        SplittableRandom r = new SplittableRandom(1);
        int n = 5, in = 64, out = 10;
        Tensor x = random(r, 1, n, in), w = random(r, 0.2, out, in), dy = random(r, 1, n, out);
        Tensor dx = Tensor.zeros(n, in), dw = random(r, 0.1, out, in), db = random(r, 0.1, out);
        GpuTensor gdx = gpu.zeros(n, in), gdw = gpu.up(dw), gdb = gpu.up(db);
        grads.linearBackward(gdx, gdw, gdb, gpu.up(dy), gpu.up(x), gpu.up(w));
        CpuGrads.linearBackward(dx, dw, db, dy, x, w);
        close("linear dIn", gpu.down(gdx), dx, 1e-5);
        close("linear dWeight (accumulated)", gpu.down(gdw), dw, 1e-5);
        assertArrayEquals(db.data(), gpu.down(gdb).data(), "linear dBias is summed in order in double: bitwise");
    }

    @ParameterizedTest
    @ValueSource(floats = {0f, 0.1f})
    void softmaxCrossEntropy(float smoothing) {
        SplittableRandom r = new SplittableRandom(2);
        int n = 6, k = 10;
        Tensor logits = random(r, 5, n, k);
        int[] y = {0, 3, 9, 2, 2, 7};
        Tensor d = Tensor.zeros(n, k);
        float loss = CpuGrads.softmaxCrossEntropy(d, logits, y, smoothing);
        GpuTensor gd = gpu.zeros(n, k);
        float gpuLoss = grads.softmaxCrossEntropy(gd, gpu.up(logits), y, smoothing);
        System.out.printf("loss cpu %.9g gpu %.9g%n", loss, gpuLoss);
        assertEquals(loss, gpuLoss, Math.abs(loss) * 1e-6 + 1e-7);
        close("dLogits", gpu.down(gd), d, 1e-6);
    }

    @Test
    void poolReluAccumulateAreBitwise() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 2, c = 5, hh = 3, ww = 4;
        Tensor dy = random(r, 1, n, c), dx = Tensor.zeros(n, c, hh, ww);
        CpuGrads.globalAvgPoolBackward(dx, dy);
        GpuTensor gdx = gpu.zeros(n, c, hh, ww);
        grads.globalAvgPoolBackward(gdx, gpu.up(dy));
        assertArrayEquals(dx.data(), gpu.down(gdx).data(), "avg pool backward");

        Tensor out = random(r, 1, n, c, hh, ww), g = random(r, 1, n, c, hh, ww), relu = Tensor.zeros(n, c, hh, ww);
        CpuOps.relu(out, out);
        CpuGrads.reluBackward(relu, g, out);
        GpuTensor gr = gpu.zeros(n, c, hh, ww);
        grads.reluBackward(gr, gpu.up(g), gpu.up(out));
        assertArrayEquals(relu.data(), gpu.down(gr).data(), "relu backward");

        Tensor a = random(r, 1, n, c, hh, ww), b = random(r, 1, n, c, hh, ww);
        Tensor acc = a.copy();
        CpuGrads.accumulate(acc, b);
        GpuTensor ga = gpu.up(a);
        grads.accumulate(ga, gpu.up(b));
        assertArrayEquals(acc.data(), gpu.down(ga).data(), "accumulate");
    }

    private static Tensor positive(SplittableRandom r, int c) {
        Tensor t = Tensor.zeros(c);
        for (int i = 0; i < c; i++) {
            t.data()[i] = (float) (0.5 + r.nextDouble());
        }
        return t;
    }

    @Test
    void batchNormOnRunningStatistics() {
        SplittableRandom r = new SplittableRandom(4);
        int n = 3, c = 6, hh = 5, ww = 5;
        Tensor x = random(r, 2, n, c, hh, ww), gamma = positive(r, c), beta = random(r, 0.3, c),
                mean = random(r, 0.2, c), var = positive(r, c), dy = random(r, 1, n, c, hh, ww);
        Tensor dx = Tensor.zeros(n, c, hh, ww), dg = random(r, 0.1, c), dbt = random(r, 0.1, c);
        GpuTensor gdx = gpu.zeros(n, c, hh, ww), gdg = gpu.up(dg), gdb = gpu.up(dbt);
        CpuGrads.batchNormBackward(dx, dg, dbt, dy, x, gamma, mean, var, ConvBn.BN_EPS);
        grads.batchNormBackward(gdx, gdg, gdb, gpu.up(dy), gpu.up(x), gpu.up(gamma), gpu.up(mean), gpu.up(var),
                ConvBn.BN_EPS);
        assertArrayEquals(dx.data(), gpu.down(gdx).data(), "bn eval dIn");
        close("bn eval dGamma", gpu.down(gdg), dg, 1e-6);
        close("bn eval dBeta", gpu.down(gdb), dbt, 1e-6);
        // in place, as the trainer calls it
        GpuTensor inPlace = gpu.up(dy);
        grads.batchNormBackward(inPlace, gpu.zeros(c), gpu.zeros(c), inPlace, gpu.up(x), gpu.up(gamma), gpu.up(mean),
                gpu.up(var), ConvBn.BN_EPS);
        assertArrayEquals(dx.data(), gpu.down(inPlace).data(), "bn eval dIn in place");
    }

    @Test
    void batchNormTrainingMode() {
        SplittableRandom r = new SplittableRandom(5);
        int n = 4, c = 8, hh = 6, ww = 6;
        Tensor x = random(r, 2, n, c, hh, ww), gamma = positive(r, c), beta = random(r, 0.3, c),
                rm = random(r, 0.2, c), rv = positive(r, c), dy = random(r, 1, n, c, hh, ww);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] += (i / (hh * ww)) % c * 0.3f; // channels with different means
        }
        Tensor y = Tensor.zeros(n, c, hh, ww), sm = Tensor.zeros(c), si = Tensor.zeros(c);
        GpuTensor grm = gpu.up(rm), grv = gpu.up(rv), gy = gpu.zeros(n, c, hh, ww), gsm = gpu.zeros(c),
                gsi = gpu.zeros(c), gx = gpu.up(x), gg = gpu.up(gamma);
        Tensor rm2 = rm.copy(), rv2 = rv.copy();
        CpuGrads.batchNormTrain(y, sm, si, x, gamma, beta, rm2, rv2, CpuGrads.BN_MOMENTUM, ConvBn.BN_EPS);
        grads.batchNormTrain(gy, gsm, gsi, gx, gg, gpu.up(beta), grm, grv, CpuGrads.BN_MOMENTUM, ConvBn.BN_EPS);
        close("bn train out", gpu.down(gy), y, 1e-5);
        close("bn train saveMean", gpu.down(gsm), sm, 1e-5);
        close("bn train saveInvStd", gpu.down(gsi), si, 1e-5);
        close("bn train running mean (momentum 0.1)", gpu.down(grm), rm2, 1e-6);
        close("bn train running var (unbiased, momentum 0.1)", gpu.down(grv), rv2, 1e-6);

        Tensor dx = Tensor.zeros(n, c, hh, ww), dg = random(r, 0.1, c), db = random(r, 0.1, c);
        GpuTensor gdx = gpu.zeros(n, c, hh, ww), gdg = gpu.up(dg), gdb = gpu.up(db);
        CpuGrads.batchNormTrainBackward(dx, dg, db, dy, x, gamma, sm, si);
        grads.batchNormTrainBackward(gdx, gdg, gdb, gpu.up(dy), gx, gg, gsm, gsi);
        close("bn train dIn", gpu.down(gdx), dx, 1e-4);
        close("bn train dGamma (accumulated)", gpu.down(gdg), dg, 1e-5);
        close("bn train dBeta (accumulated)", gpu.down(gdb), db, 1e-5);
        GpuTensor inPlace = gpu.up(dy);
        grads.batchNormTrainBackward(inPlace, gpu.zeros(c), gpu.zeros(c), inPlace, gx, gg, gsm, gsi);
        close("bn train dIn in place", gpu.down(inPlace), dx, 1e-4);
    }

    private static final GpuConvCase[] CONVS = {
            new GpuConvCase(2, 3, 32, 16, 7, 2, 3, 1),
            new GpuConvCase(2, 32, 9, 24, 1, 1, 0, 1),
            new GpuConvCase(3, 16, 9, 16, 3, 1, 1, 1),
            new GpuConvCase(2, 16, 10, 32, 3, 2, 1, 1),
            new GpuConvCase(2, 32, 8, 64, 1, 2, 0, 1),
            new GpuConvCase(2, 64, 9, 64, 3, 1, 1, 32),
            new GpuConvCase(2, 64, 10, 64, 3, 2, 1, 16),
    };

    @Test
    void convolutionGradients() {
        SplittableRandom r = new SplittableRandom(6);
        for (GpuConvCase cc : CONVS) {
            int p = cc.outSize(), cg = cc.c() / cc.groups();
            Tensor x = random(r, 1, cc.n(), cc.c(), cc.h(), cc.h()), w = random(r, 0.3, cc.k(), cg, cc.r(), cc.r());
            Tensor dy = random(r, 1, cc.n(), cc.k(), p, p);
            Tensor y = Tensor.zeros(cc.n(), cc.k(), p, p);
            CpuOps.conv2d(y, x, w, null, cc.stride(), cc.pad(), cc.groups());
            GpuTensor gy = gpu.zeros(cc.n(), cc.k(), p, p), gx = gpu.up(x), gw = gpu.up(w);
            ops().conv2d(gy, gx, gw, null, cc.stride(), cc.pad(), cc.groups());
            close("conv forward " + cc, gpu.down(gy), y, 1e-5);

            Tensor dx = Tensor.zeros(x.shape());
            CpuGrads.conv2dBackwardData(dx, dy, w, cc.stride(), cc.pad(), cc.groups());
            GpuTensor gdx = gpu.zeros(x.shape().dims());
            grads.conv2dBackwardData(gdx, gpu.up(dy), gw, cc.stride(), cc.pad(), cc.groups());
            close("conv dIn " + cc, gpu.down(gdx), dx, 1e-5);

            Tensor dw = random(r, 0.1, w.shape().dims());
            GpuTensor gdw = gpu.up(dw);
            CpuGrads.conv2dBackwardFilter(dw, dy, x, cc.stride(), cc.pad(), cc.groups());
            grads.conv2dBackwardFilter(gdw, gpu.up(dy), gx, cc.stride(), cc.pad(), cc.groups());
            close("conv dWeight (accumulated) " + cc, gpu.down(gdw), dw, 1e-5);
        }
    }

    @Test
    void maxPoolBackward() {
        SplittableRandom r = new SplittableRandom(7);
        int n = 2, c = 4, hh = 12, ww = 11;
        Tensor x = random(r, 3, n, c, hh, ww); // continuous random values: no ties
        int p = (hh - 1) / 2 + 1, q = (ww - 1) / 2 + 1;
        Tensor y = Tensor.zeros(n, c, p, q), dy = random(r, 1, n, c, p, q), dx = Tensor.zeros(x.shape());
        CpuOps.maxPool(y, x, 3, 2, 1);
        CpuGrads.maxPoolBackward(dx, dy, x, y, 3, 2, 1);
        GpuTensor gx = gpu.up(x), gy = gpu.zeros(n, c, p, q), gdx = gpu.zeros(n, c, hh, ww);
        ops().maxPool(gy, gx, 3, 2, 1);
        assertArrayEquals(y.data(), gpu.down(gy).data(), "max pool forward");
        grads.maxPoolBackward(gdx, gpu.up(dy), gx, gy, 3, 2, 1);
        close("max pool dIn", gpu.down(gdx), dx, 1e-6);
    }
}
