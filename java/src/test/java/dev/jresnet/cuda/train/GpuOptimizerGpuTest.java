package dev.jresnet.cuda.train;

import dev.jresnet.cuda.GpuHarness;
import dev.jresnet.cuda.GpuTensor;
import dev.jresnet.cuda.GpuTests;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.AdamW;
import dev.jresnet.train.Optimizer;
import dev.jresnet.train.Param;
import dev.jresnet.train.Parameter;
import dev.jresnet.train.Sgd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.jresnet.cuda.train.GpuGradsGpuTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The optimizer kernels against the Java optimizers: bit for bit over several steps. */
@Tag("gpu")
class GpuOptimizerGpuTest {
    private static GpuHarness h;
    private static GpuGrads grads;

    @BeforeEach
    void open() {
        GpuTests.assumeCudnn();
        GpuTests.assumeNvrtc();
        if (h == null) {
            h = new GpuHarness();
            grads = new GpuGrads(h.ops(Precision.FP32));
        }
    }

    @AfterAll
    static void close() {
        if (h != null) {
            grads.close();
            h.close();
            h = null;
        }
    }

    private static void compare(Optimizer cpu, GpuOptimizer gpu) {
        SplittableRandom r = new SplittableRandom(11);
        int[][] shapes = {{37, 5}, {1000}, {3, 3, 3, 2}};
        List<Parameter> ps = new ArrayList<>();
        List<Param<GpuTensor>> ds = new ArrayList<>();
        for (int i = 0; i < shapes.length; i++) {
            Tensor w = random(r, 1, shapes[i]);
            Tensor g = Tensor.zeros(shapes[i]);
            ps.add(new Parameter("p" + i, w, g));
            ds.add(new Param<>("p" + i, Shape.of(shapes[i]), h.up(w), h.zeros(shapes[i])));
        }
        float[] lrs = {0.1f, 0.03f, 0.007f, 0.5f};
        for (int step = 0; step < lrs.length; step++) {
            for (int i = 0; i < ps.size(); i++) {
                Tensor g = ps.get(i).grad();
                Tensor fresh = random(r, step == 2 ? 1e-3 : 1, g.shape().dims());
                System.arraycopy(fresh.data(), 0, g.data(), 0, g.size());
                grads.ops().upload(ds.get(i).grad(), g);
            }
            cpu.step(ps, lrs[step]);
            gpu.step(grads, ds, lrs[step]);
            for (int i = 0; i < ps.size(); i++) {
                Tensor w = ps.get(i).value();
                assertArrayEquals(w.data(), h.down(ds.get(i).value()).data(),
                        cpu.describe() + " step " + step + " parameter " + i);
            }
        }
        Map<String, Tensor> cs = cpu.state();
        Map<String, Tensor> gs = gpu.state(grads.stream(), Map.of());
        assertEquals(cs.keySet(), gs.keySet(), "state keys");
        for (String k : cs.keySet()) {
            assertArrayEquals(cs.get(k).data(), gs.get(k).data(), "state " + k);
        }
        gpu.close();
    }

    @Test
    void sgdPlain() {
        compare(new Sgd(0f, 0f, false), GpuOptimizer.sgd(0f, 0f, false));
    }

    @Test
    void sgdMomentumWeightDecay() {
        compare(new Sgd(0.9f, 1e-4f, false), GpuOptimizer.sgd(0.9f, 1e-4f, false));
    }

    @Test
    void sgdNesterov() {
        compare(new Sgd(0.9f, 5e-4f, true), GpuOptimizer.sgd(0.9f, 5e-4f, true));
    }

    @Test
    void adamw() {
        compare(new AdamW(0.9f, 0.999f, 1e-8f, 0.01f), GpuOptimizer.adamw(0.9f, 0.999f, 1e-8f, 0.01f));
    }

    @Test
    void adamwFromJavaOptimizer() {
        AdamW cpu = new AdamW(0.8f, 0.99f, 1e-6f, 0.05f);
        compare(cpu, GpuOptimizer.from(new AdamW(0.8f, 0.99f, 1e-6f, 0.05f)));
    }
}
