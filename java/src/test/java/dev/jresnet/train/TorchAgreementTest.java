package dev.jresnet.train;

import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sgd, AdamW, the schedules and clipping against torch 1.13 (optim_reference.py): the same seeded parameters and
 * gradients, step by step. Error is |java - torch| / max(1, |torch|), at most 1e-6.
 */
class TorchAgreementTest {
    private static final double TOLERANCE = 1e-6;

    private static final class Worst {
        double error;
        long elements;
        long bitwiseEqual;
        String where = "";

        void compare(String what, float[] expected, float[] actual) {
            assertEquals(expected.length, actual.length, what);
            for (int i = 0; i < expected.length; i++) {
                double e = Math.abs((double) actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
                elements++;
                if (Float.floatToIntBits(actual[i]) == Float.floatToIntBits(expected[i])) {
                    bitwiseEqual++;
                }
                if (e > error) {
                    error = e;
                    where = what + "[" + i + "]";
                }
            }
        }
    }

    @Test
    void sgdMatchesTorch() throws IOException {
        Map<String, String> s = OptimReference.settings("optim.txt", "sgd");
        trajectory("sgd", new Sgd(f(s, "momentum"), f(s, "weight_decay"), false), f(s, "lr"),
                Set.of(Sgd.MOMENTUM_BUFFER));
    }

    @Test
    void sgdNesterovMatchesTorch() throws IOException {
        Map<String, String> s = OptimReference.settings("optim.txt", "sgd_nesterov");
        trajectory("sgd_nesterov", new Sgd(f(s, "momentum"), f(s, "weight_decay"), true), f(s, "lr"),
                Set.of(Sgd.MOMENTUM_BUFFER));
    }

    @Test
    void adamWMatchesTorch() throws IOException {
        Map<String, String> s = OptimReference.settings("optim.txt", "adamw");
        trajectory("adamw", new AdamW(f(s, "beta1"), f(s, "beta2"), f(s, "eps"), f(s, "weight_decay")), f(s, "lr"),
                Set.of(AdamW.EXP_AVG, AdamW.EXP_AVG_SQ, AdamW.STEP));
    }

    private void trajectory(String tag, Optimizer opt, float lr, Set<String> stateKeys) throws IOException {
        Map<String, Tensor> values = new LinkedHashMap<>();
        for (String n : OptimReference.NAMES) {
            values.put(n, OptimReference.npy("init." + n));
        }
        Worst worst = new Worst();
        for (int step = 0; step < OptimReference.STEPS; step++) {
            List<Parameter> params = new ArrayList<>();
            for (String n : OptimReference.NAMES) {
                String g = "grad." + step + "." + n;
                params.add(new Parameter(n, values.get(n), OptimReference.exists(g) ? OptimReference.npy(g) : null));
            }
            opt.step(params, lr);
            for (String n : OptimReference.NAMES) {
                // Compare, then carry on from torch's values so that one step's error does not compound.
                Tensor expected = OptimReference.npy(tag + "." + step + "." + n);
                worst.compare(tag + " step " + step + " " + n, expected.data(), values.get(n).data());
                System.arraycopy(expected.data(), 0, values.get(n).data(), 0, expected.size());
            }
        }
        Map<String, Tensor> state = opt.state();
        for (String n : OptimReference.NAMES) {
            for (String key : stateKeys) {
                Tensor expected = OptimReference.npy(tag + ".final." + n + "." + key);
                Tensor actual = state.get(n + "." + key);
                assertTrue(actual != null, tag + ": state " + n + "." + key + " missing");
                worst.compare(tag + " state " + n + "." + key, expected.data(), actual.data());
            }
        }
        assertEquals(OptimReference.STEPS, state.get("step").data()[0]);
        System.out.printf("%s vs torch: max error %.3g at %s; %d of %d values bitwise equal%n", tag, worst.error,
                worst.where, worst.bitwiseEqual, worst.elements);
        assertTrue(worst.error <= TOLERANCE, tag + ": error " + worst.error + " at " + worst.where);
    }

    @Test
    void clippingMatchesTorch() throws IOException {
        Map<String, String> s = OptimReference.settings("clip.txt", "");
        List<Parameter> params = new ArrayList<>();
        for (String n : OptimReference.NAMES) {
            Tensor g = OptimReference.npy("clip.in." + n);
            params.add(new Parameter(n, Tensor.zeros(g.shape()), g));
        }
        float total = GradClipping.clipGlobalNorm(params, f(s, "max_norm"));
        Worst worst = new Worst();
        worst.compare("total norm", new float[] {f(s, "total_norm")}, new float[] {total});
        for (Parameter p : params) {
            worst.compare("clipped " + p.name(), OptimReference.npy("clip.out." + p.name()).data(), p.grad().data());
        }
        System.out.printf("clip_grad_norm_ vs torch: total %s (torch %s); max error %.3g at %s; %d of %d bitwise equal%n",
                total, s.get("total_norm"), worst.error, worst.where, worst.bitwiseEqual, worst.elements);
        assertTrue(worst.error <= TOLERANCE, "clipping error " + worst.error + " at " + worst.where);
    }

    @Test
    void schedulesMatchTorch() throws IOException {
        Map<String, double[]> ref = OptimReference.schedules();
        int checked = 0;
        double maxRel = 0;
        for (Map.Entry<String, double[]> e : ref.entrySet()) {
            double[] v = e.getValue();
            float base = (float) v[0];
            int total = (int) v[1];
            LrSchedule schedule = switch (e.getKey()) {
                case "constant" -> LrSchedule.constant(base);
                case "step_5_0.1" -> LrSchedule.step(base, 5, 0.1f);
                case "step_3_0.5" -> LrSchedule.step(base, 3, 0.5f);
                case "cosine_min0" -> LrSchedule.cosine(base, total, 0f);
                case "cosine_min1e-3" -> LrSchedule.cosine(base, total, 1e-3f);
                case "warmup4_0.01_cosine" -> LrSchedule.withWarmup(base, 4, 0.01f, LrSchedule.cosine(base, total - 4, 0f));
                case "warmup3_0.1_step_5_0.1" -> LrSchedule.withWarmup(base, 3, 0.1f, LrSchedule.step(base, 5, 0.1f));
                default -> throw new AssertionError("unknown schedule in schedules.txt: " + e.getKey());
            };
            for (int step = 0; step < total; step++) {
                double expected = v[2 + step];
                float actual = schedule.lr(step);
                double rel = Math.abs(actual - expected) / expected;
                maxRel = Math.max(maxRel, rel);
                // torch keeps the lr in double; jresnet's is that double rounded to float.
                assertEquals((float) expected, actual, Math.ulp((float) expected),
                        e.getKey() + " step " + step + ": torch " + expected + ", jresnet " + actual);
                checked++;
            }
        }
        assertEquals(7 * 20, checked);
        System.out.printf("lr schedules vs torch: %d values, max relative error %.3g (float rounding of torch's double)%n",
                checked, maxRel);
    }

    private static float f(Map<String, String> s, String key) {
        return (float) Double.parseDouble(s.get(key));
    }
}
