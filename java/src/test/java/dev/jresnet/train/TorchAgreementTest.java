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
 * gradients, step by step. The optimizers' parameters and states and the schedules' rates are bitwise torch's (as
 * the README says); clipping is within a few ulps (see {@link #CLIP_ULPS}).
 */
class TorchAgreementTest {
    /**
     * clip_grad_norm_ is the one computation here that is not bitwise torch's: torch reduces each gradient's norm in
     * float32 in its own order, jresnet in double, so the total norm may differ by an ulp and every clipped value with
     * it. Measured: total 20.424023 vs torch's 20.424021 (1 ulp), clipped values at most 3 ulps apart (about 3e-7
     * relative), 0 of 388 bitwise equal. The bound is 10 ulps.
     */
    private static final int CLIP_ULPS = 10;

    /** Every value compared: bitwise equality counted, and the largest distance in units of torch's value's ulp. */
    private static final class Worst {
        double ulps;
        long elements;
        long bitwiseEqual;
        String where = "";
        String firstDifference;

        void compare(String what, float[] expected, float[] actual) {
            assertEquals(expected.length, actual.length, what);
            for (int i = 0; i < expected.length; i++) {
                elements++;
                if (Float.floatToRawIntBits(actual[i]) == Float.floatToRawIntBits(expected[i])) {
                    bitwiseEqual++;
                    continue;
                }
                double u = Math.abs((double) actual[i] - expected[i]) / Math.ulp(expected[i]);
                if (firstDifference == null) {
                    firstDifference = what + "[" + i + "]: jresnet " + actual[i] + " (0x"
                            + Integer.toHexString(Float.floatToRawIntBits(actual[i])) + "), torch " + expected[i]
                            + " (0x" + Integer.toHexString(Float.floatToRawIntBits(expected[i])) + ")";
                }
                if (!(u <= ulps)) {   // NaN counts as the worst
                    ulps = Double.isNaN(u) ? Double.POSITIVE_INFINITY : u;
                    where = what + "[" + i + "]";
                }
            }
        }

        String summary() {
            return bitwiseEqual + " of " + elements + " values bitwise equal, at most " + ulps + " ulps apart"
                    + (where.isEmpty() ? "" : " at " + where);
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
        System.out.printf("%s vs torch: %s%n", tag, worst.summary());
        // The same float operations in the same order as torch.optim's (single-tensor, foreach=False) code: bitwise.
        assertEquals(worst.elements, worst.bitwiseEqual, tag + ": " + worst.summary() + "; first difference "
                + worst.firstDifference);
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
        System.out.printf("clip_grad_norm_ vs torch: total %s (torch %s); %s%n", total, s.get("total_norm"),
                worst.summary());
        assertTrue(worst.ulps <= CLIP_ULPS, "clipping: " + worst.summary());
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

                // torch keeps the lr in double; jresnet's is that double rounded to float, bit for bit (measured:
                // all 140).
                assertEquals((float) expected, actual,
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
