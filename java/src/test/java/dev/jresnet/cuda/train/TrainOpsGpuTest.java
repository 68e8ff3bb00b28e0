package dev.jresnet.cuda.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.cpu.CpuOps;
import dev.jresnet.cuda.DeviceBuffer;
import dev.jresnet.cuda.GpuTests;
import dev.jresnet.nn.BatchNorm2d;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static dev.jresnet.cuda.train.GpuTrainHarness.maxAbs;
import static dev.jresnet.cuda.train.GpuTrainHarness.maxRel;
import static dev.jresnet.cuda.train.GpuTrainHarness.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every GPU backward op (the code CudaTrainableResNet runs) against CpuGrads, fp32, on random inputs. */
@Tag("gpu")
class TrainOpsGpuTest {
    private static GpuTrainHarness h;

    @BeforeEach
    void open() {
        GpuTests.assumeCudnn();
        GpuTests.assumeCublas();
        GpuTests.assumeNvrtc();
        if (h == null) {
            h = new GpuTrainHarness();
        }
    }

    @AfterAll
    static void close() {
        if (h != null) {
            h.close();
            h = null;
        }
    }

    private static void close(String what, Tensor gpu, Tensor cpu, double tol) {
        double rel = maxRel(gpu, cpu);
        System.out.printf("%s: max abs %.3e, max rel %.3e%n", what, maxAbs(gpu, cpu), rel);
        assertTrue(rel <= tol, what + ": max relative error " + rel + " > " + tol);
    }

    @Test
    void linearBackward() {
        SplittableRandom r = new SplittableRandom(1);
        int n = 5, in = 64, out = 10;
        Tensor x = random(r, 1, n, in), w = random(r, 0.2, out, in), dy = random(r, 1, n, out);
        Tensor dx = Tensor.zeros(n, in), dw = random(r, 0.1, out, in), db = random(r, 0.1, out);
        Tensor dw0 = dw.copy(), db0 = db.copy();
        DeviceBuffer gdx = h.zeros(n * in), gdw = h.up(dw0), gdb = h.up(db0);
        h.ops.linearBackward(n, in, out, h.up(dy), h.up(x), h.up(w), gdx, gdw, gdb);
        CpuGrads.linearBackward(dx, dw, db, dy, x, w);
        close("linear dx", h.down(gdx, n, in), dx, 1e-5);
        close("linear dw (accumulated)", h.down(gdw, out, in), dw, 1e-5);
        assertArrayEquals(db.data(), h.down(gdb, out).data(), "linear db is summed in order in double: bitwise");
        // forward too
        Tensor b = random(r, 0.5, out), y = Tensor.zeros(n, out);
        CpuOps.linear(y, x, w, b);
        DeviceBuffer gy = h.zeros(n * out);
        h.ops.linearForward(n, in, out, h.up(x), h.up(w), h.up(b), gy);
        close("linear forward", h.down(gy, n, out), y, 1e-5);
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
        DeviceBuffer gd = h.zeros(n * k), rows = h.zeros(2L * n), gl = h.zeros(2);
        h.ops.kernels().softmaxCrossEntropy(h.ops.stream(), h.up(logits), h.upInts(y), gd, rows, gl, n, k, smoothing);
        float gpuLoss = h.down(gl, 2).data()[0];
        System.out.printf("loss cpu %.9g gpu %.9g%n", loss, gpuLoss);
        assertEquals(loss, gpuLoss, Math.abs(loss) * 1e-6 + 1e-7);
        close("dLogits", h.down(gd, n, k), d, 1e-6);
    }

    @Test
    void poolReluAddAreBitwise() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 2, c = 5, hh = 3, ww = 4;
        Tensor dy = random(r, 1, n, c), dx = Tensor.zeros(n, c, hh, ww);
        CpuGrads.globalAvgPoolBackward(dx, dy);
        DeviceBuffer gdx = h.zeros(n * c * hh * ww);
        h.ops.kernels().globalAvgPoolBackward(h.ops.stream(), h.up(dy), gdx, n, c, hh * ww);
        assertArrayEquals(dx.data(), h.down(gdx, n, c, hh, ww).data(), "avg pool backward");

        Tensor out = random(r, 1, n, c, hh, ww), g = random(r, 1, n, c, hh, ww), relu = Tensor.zeros(n, c, hh, ww);
        CpuOps.relu(out, out);
        CpuGrads.reluBackward(relu, g, out);
        DeviceBuffer gr = h.zeros(relu.size());
        h.ops.kernels().reluBackward(h.ops.stream(), h.up(g), h.up(out), gr, relu.size());
        assertArrayEquals(relu.data(), h.down(gr, n, c, hh, ww).data(), "relu backward");

        Tensor a = random(r, 1, n, c, hh, ww), b = random(r, 1, n, c, hh, ww), sum = Tensor.zeros(n, c, hh, ww);
        CpuOps.add(sum, a, b, true);
        DeviceBuffer gs = h.zeros(sum.size());
        h.ops.kernels().addRelu(h.ops.stream(), h.up(a), h.up(b), gs, sum.size());
        assertArrayEquals(sum.data(), h.down(gs, n, c, hh, ww).data(), "add + relu");

        Tensor acc = a.copy();
        CpuGrads.accumulate(acc, b);
        DeviceBuffer ga = h.up(a);
        h.ops.kernels().addInPlace(h.ops.stream(), ga, h.up(b), a.size());
        assertArrayEquals(acc.data(), h.down(ga, n, c, hh, ww).data(), "accumulate");
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
        for (boolean relu : new boolean[] {false, true}) {
            Tensor y = Tensor.zeros(n, c, hh, ww);
            CpuOps.batchNorm(y, x, gamma, beta, mean, var, BatchNorm2d.EPS, relu);
            DeviceBuffer gy = h.zeros(y.size());
            h.ops.bnEvalForward(n, c, hh * ww, h.up(x), gy, h.up(gamma), h.up(beta), h.up(mean), h.up(var), relu);
            assertArrayEquals(y.data(), h.down(gy, n, c, hh, ww).data(), "bn eval forward, relu " + relu);
        }
        Tensor dx = Tensor.zeros(n, c, hh, ww), dg = random(r, 0.1, c), dbt = random(r, 0.1, c);
        DeviceBuffer gdx = h.zeros(dx.size()), gdg = h.up(dg), gdb = h.up(dbt);
        CpuGrads.batchNormBackward(dx, dg, dbt, dy, x, gamma, mean, var, BatchNorm2d.EPS);
        h.ops.bnEvalBackward(n, c, hh * ww, h.up(x), h.up(dy), gdx, h.up(gamma), h.up(mean), h.up(var), gdg, gdb);
        assertArrayEquals(dx.data(), h.down(gdx, n, c, hh, ww).data(), "bn eval dx");
        close("bn eval dgamma", h.down(gdg, c), dg, 1e-6);
        close("bn eval dbeta", h.down(gdb, c), dbt, 1e-6);
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
        DeviceBuffer grm = h.up(rm), grv = h.up(rv), gy = h.zeros(y.size()), gsm = h.zeros(c), gsi = h.zeros(c);
        DeviceBuffer gx = h.up(x), gg = h.up(gamma);
        Tensor rm2 = rm.copy(), rv2 = rv.copy();
        CpuGrads.batchNormTrain(y, sm, si, x, gamma, beta, rm2, rv2, CpuGrads.BN_MOMENTUM, BatchNorm2d.EPS);
        h.ops.bnTrainForward(n, c, hh, ww, gx, gy, gg, h.up(beta), grm, grv, gsm, gsi);
        close("bn train y", h.down(gy, n, c, hh, ww), y, 1e-5);
        close("bn train saveMean", h.down(gsm, c), sm, 1e-5);
        close("bn train saveInvStd", h.down(gsi, c), si, 1e-5);
        close("bn train running mean (momentum 0.1)", h.down(grm, c), rm2, 1e-6);
        close("bn train running var (unbiased, momentum 0.1)", h.down(grv, c), rv2, 1e-6);

        Tensor dx = Tensor.zeros(n, c, hh, ww), dg = random(r, 0.1, c), db = random(r, 0.1, c);
        DeviceBuffer gdx = h.zeros(dx.size()), gdg = h.up(dg), gdb = h.up(db);
        CpuGrads.batchNormTrainBackward(dx, dg, db, dy, x, gamma, sm, si);
        h.ops.bnTrainBackward(n, c, hh, ww, gx, h.up(dy), gdx, gg, gdg, gdb, gsm, gsi);
        close("bn train dx", h.down(gdx, n, c, hh, ww), dx, 1e-4);
        close("bn train dgamma (accumulated)", h.down(gdg, c), dg, 1e-5);
        close("bn train dbeta (accumulated)", h.down(gdb, c), db, 1e-5);
    }

    record ConvCase(int n, int c, int hw, int k, int r, int stride, int pad) {}

    private static final ConvCase[] CONVS = {
            new ConvCase(2, 3, 32, 16, 7, 2, 3),
            new ConvCase(2, 32, 9, 24, 1, 1, 0),
            new ConvCase(3, 16, 9, 16, 3, 1, 1),
            new ConvCase(2, 16, 10, 32, 3, 2, 1),
            new ConvCase(2, 32, 8, 64, 1, 2, 0),
    };

    @Test
    void convolutionGradients() {
        SplittableRandom r = new SplittableRandom(6);
        for (ConvCase cc : CONVS) {
            TrainOps.ConvKey key = new TrainOps.ConvKey(cc.n(), cc.c(), cc.hw(), cc.hw(), cc.k(), cc.r(), cc.r(),
                    cc.stride(), cc.pad());
            int p = key.p(), q = key.q();
            Tensor x = random(r, 1, cc.n(), cc.c(), cc.hw(), cc.hw()), w = random(r, 0.3, cc.k(), cc.c(), cc.r(), cc.r());
            Tensor dy = random(r, 1, cc.n(), cc.k(), p, q);
            TrainOps.ConvShape s = h.ops.conv(key);
            Tensor y = Tensor.zeros(cc.n(), cc.k(), p, q);
            CpuOps.conv2d(y, x, w, null, cc.stride(), cc.pad());
            DeviceBuffer gy = h.zeros(y.size());
            h.ops.convForward(s, h.up(x), h.up(w), gy);
            close("conv forward " + cc + " (" + s.algorithms() + ")", h.down(gy, cc.n(), cc.k(), p, q), y, 1e-5);

            Tensor dx = Tensor.zeros(x.shape());
            CpuGrads.conv2dBackwardData(dx, dy, w, cc.stride(), cc.pad());
            DeviceBuffer gdx = h.zeros(dx.size());
            h.ops.convBackwardData(s, h.up(w), h.up(dy), gdx, false);
            close("conv dx " + cc, h.down(gdx, x.shape().dims()), dx, 1e-5);

            Tensor dw = random(r, 0.1, w.shape().dims());
            DeviceBuffer gdw = h.up(dw);
            CpuGrads.conv2dBackwardFilter(dw, dy, x, cc.stride(), cc.pad());
            h.ops.convBackwardFilter(s, h.up(x), h.up(dy), gdw);
            close("conv dw (accumulated) " + cc, h.down(gdw, w.shape().dims()), dw, 1e-5);
        }
    }

    @Test
    void maxPoolBackward() {
        SplittableRandom r = new SplittableRandom(7);
        int n = 2, c = 4, hh = 12, ww = 11;
        Tensor x = random(r, 3, n, c, hh, ww); // continuous random values: no ties
        int p = TrainOps.poolOut(hh, 3, 1, 2), q = TrainOps.poolOut(ww, 3, 1, 2);
        Tensor y = Tensor.zeros(n, c, p, q), dy = random(r, 1, n, c, p, q), dx = Tensor.zeros(x.shape());
        CpuOps.maxPool(y, x, 3, 2, 1);
        CpuGrads.maxPoolBackward(dx, dy, x, 3, 2, 1);
        DeviceBuffer gx = h.up(x), gy = h.zeros(y.size()), gdx = h.zeros(dx.size());
        h.ops.maxPoolForward(n, c, hh, ww, 3, 1, 2, gx, gy);
        assertArrayEquals(y.data(), h.down(gy, n, c, p, q).data(), "max pool forward");
        h.ops.maxPoolBackward(n, c, hh, ww, 3, 1, 2, gx, gy, h.up(dy), gdx);
        close("max pool dx", h.down(gdx, x.shape().dims()), dx, 1e-6);
    }
}
