package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Checks analytic gradients against central finite differences.
 *
 * <p>A function f maps float tensors to a float tensor; rather than one backward per output element, the
 * check reduces it to the scalar L(x) = Σ v·f(x) with a seeded random projection v, so that one backward
 * with dOut = v gives ∂L/∂x for every input at once. Each checked element x_i is then perturbed both ways
 * and compared with n_i = (L(x + h) - L(x - h)) / (2h), L summed in double.
 *
 * <p>Epsilon: f runs in float32, whose outputs carry a relative rounding error of about 6e-8; divided by 2h
 * that noise grows as h shrinks, while the truncation error of central differences grows as h². At
 * h = 1e-2 with unit-scale inputs both stay near 1e-5…1e-4 absolute for the small shapes checked here; the
 * step actually taken is (float)(x+h) - (float)(x-h), so rounding the perturbed input costs nothing.
 * Piecewise-linear ops (ReLU, max-pool) must be checked at inputs at least h away from their kinks.
 *
 * <p>Error: per element |a - n| / max(|a|, |n|, floor), so tiny gradients are judged by their absolute
 * error against the floor instead of dividing noise by nearly zero; per tensor the maximum absolute and
 * maximum relative errors are reported. The floor scales with the tensor's gradients,
 * floor = max(FLOOR, FLOOR_FRACTION · max|a|), because the float32 noise in n comes from the magnitudes of
 * the values summed around the element, not from the element's own (possibly cancelling) gradient: a
 * convolution's near-zero weight gradient carries the same ~1e-4 noise as its large ones.
 */
public final class GradCheck {
    /** The finite-difference step (see the class comment). */
    public static final double EPSILON = 1e-2;
    /** Below this magnitude a gradient's error counts as absolute rather than relative. */
    public static final double FLOOR = 1e-3;
    /** ... or below this fraction of the tensor's largest analytic gradient, whichever is larger. */
    public static final double FLOOR_FRACTION = 1e-2;
    /** The largest relative error that passes. */
    public static final double TOLERANCE = 1e-2;
    /** At most this many elements per tensor are perturbed (chosen at random, seeded); the rest are trusted. */
    public static final int MAX_SAMPLES = 300;

    private GradCheck() {}

    /** f(inputs); must not modify its inputs (copy any state it updates, such as running statistics). */
    @FunctionalInterface
    public interface Forward {
        Tensor apply(Tensor[] inputs);
    }

    /** The gradient of Σ dOut·f(inputs) with respect to each input, in input order (null: not checked). */
    @FunctionalInterface
    public interface Backward {
        Tensor[] apply(Tensor[] inputs, Tensor dOut);
    }

    /** One checked tensor: how many elements were perturbed and the worst errors among them. */
    public record Result(String op, String tensor, int checked, double maxAbs, double maxRel, boolean pass) {}

    /** Checks every input with this class's epsilon, floor, tolerance and sample cap. */
    public static List<Result> check(String op, String[] names, Tensor[] inputs, Forward f, Backward b, long seed) {
        return check(op, names, inputs, f, b, seed, EPSILON, FLOOR, TOLERANCE, MAX_SAMPLES);
    }

    public static List<Result> check(String op, String[] names, Tensor[] inputs, Forward f, Backward b, long seed,
                                     double eps, double floor, double tolerance, int maxSamples) {
        if (names.length != inputs.length) {
            throw new IllegalArgumentException(op + ": " + names.length + " names for " + inputs.length + " inputs");
        }
        Random rnd = new Random(seed);
        Tensor y = f.apply(inputs);
        Tensor v = Tensor.zeros(y.shape());
        for (int i = 0; i < v.size(); i++) {
            v.data()[i] = (float) rnd.nextGaussian();
        }
        Tensor[] grads = b.apply(inputs, v);
        if (grads.length != inputs.length) {
            throw new IllegalArgumentException(op + ": backward gave " + grads.length + " gradients for "
                    + inputs.length + " inputs");
        }
        List<Result> results = new ArrayList<>();
        for (int t = 0; t < inputs.length; t++) {
            if (grads[t] == null) {
                continue;
            }
            grads[t].shape().require(inputs[t].shape(), op + " gradient of " + names[t]);
            float[] x = inputs[t].data();
            int[] sample = sample(x.length, maxSamples, rnd);
            double largest = 0;
            for (float a : grads[t].data()) {
                largest = Math.max(largest, Math.abs(a));
            }
            double tensorFloor = Math.max(floor, FLOOR_FRACTION * largest);
            double maxAbs = 0, maxRel = 0;
            for (int i : sample) {
                float saved = x[i];
                float plus = (float) (saved + eps), minus = (float) (saved - eps);
                x[i] = plus;
                double lPlus = project(v, f.apply(inputs));
                x[i] = minus;
                double lMinus = project(v, f.apply(inputs));
                x[i] = saved;
                double numeric = (lPlus - lMinus) / ((double) plus - minus);
                double analytic = grads[t].data()[i];
                double abs = Math.abs(analytic - numeric);
                maxAbs = Math.max(maxAbs, abs);
                maxRel = Math.max(maxRel, abs / Math.max(tensorFloor, Math.max(Math.abs(analytic), Math.abs(numeric))));
            }
            results.add(new Result(op, names[t], sample.length, maxAbs, maxRel, maxRel <= tolerance));
        }
        return results;
    }

    private static double project(Tensor v, Tensor y) {
        v.shape().require(y.shape(), "gradcheck: forward output changed shape");
        double sum = 0;
        for (int i = 0; i < y.size(); i++) {
            sum += (double) v.data()[i] * y.data()[i];
        }
        return sum;
    }

    /** All indices when there are at most max, else max distinct ones in random order. */
    private static int[] sample(int size, int max, Random rnd) {
        int[] idx = new int[size];
        for (int i = 0; i < size; i++) {
            idx[i] = i;
        }
        int m = Math.min(size, max);
        for (int i = 0; i < m; i++) {
            int j = i + rnd.nextInt(size - i);
            int tmp = idx[i];
            idx[i] = idx[j];
            idx[j] = tmp;
        }
        return java.util.Arrays.copyOf(idx, m);
    }

    // ---------------------------------------------------------------- every backward op

    /**
     * Checks every backward op of {@link CpuGrads} at small seeded random shapes and prints a table; returns
     * the results (all pass when the ops are right).
     */
    public static List<Result> runAll(PrintWriter out) {
        List<Result> all = new ArrayList<>();
        long seed = 20240601L;

        all.addAll(check("linear", new String[] {"input", "weight", "bias"},
                new Tensor[] {gaussian(seed + 1, 3, 7), gaussian(seed + 2, 5, 7), gaussian(seed + 3, 5)},
                in -> {
                    Tensor y = Tensor.zeros(in[0].dim(0), in[1].dim(0));
                    CpuOps.linear(y, in[0], in[1], in[2]);
                    return y;
                },
                (in, dy) -> {
                    Tensor dx = Tensor.zeros(in[0].shape()), dw = Tensor.zeros(in[1].shape()), db = Tensor.zeros(in[2].shape());
                    CpuGrads.linearBackward(dx, dw, db, dy, in[0], in[1]);
                    return new Tensor[] {dx, dw, db};
                }, seed));

        int[] targets = {2, 0, 4, 4};
        for (float smoothing : new float[] {0f, 0.1f}) {
            all.addAll(check(String.format(Locale.ROOT, "cross_entropy(ls=%.1f)", smoothing), new String[] {"logits"},
                    new Tensor[] {gaussian(seed + 4, 4, 6)},
                    in -> {
                        Tensor loss = Tensor.zeros(1);
                        loss.data()[0] = CpuGrads.softmaxCrossEntropy(null, in[0], targets, smoothing);
                        return loss;
                    },
                    (in, dy) -> {
                        Tensor d = Tensor.zeros(in[0].shape());
                        CpuGrads.softmaxCrossEntropy(d, in[0], targets, smoothing);
                        scale(d, dy.data()[0]);
                        return new Tensor[] {d};
                    }, seed));
        }

        all.addAll(check("global_avg_pool", new String[] {"input"}, new Tensor[] {gaussian(seed + 5, 2, 3, 4, 5)},
                in -> {
                    Tensor y = Tensor.zeros(in[0].dim(0), in[0].dim(1));
                    CpuOps.globalAvgPool(y, in[0]);
                    return y;
                },
                (in, dy) -> {
                    Tensor d = Tensor.zeros(in[0].shape());
                    CpuGrads.globalAvgPoolBackward(d, dy);
                    return new Tensor[] {d};
                }, seed));

        all.addAll(check("relu", new String[] {"input"}, new Tensor[] {awayFromZero(seed + 6, 0.05f, 2, 3, 4, 4)},
                in -> {
                    Tensor y = Tensor.zeros(in[0].shape());
                    CpuOps.relu(y, in[0]);
                    return y;
                },
                (in, dy) -> {
                    Tensor y = Tensor.zeros(in[0].shape());
                    CpuOps.relu(y, in[0]);
                    Tensor d = Tensor.zeros(in[0].shape());
                    CpuGrads.reluBackward(d, dy, y);
                    return new Tensor[] {d};
                }, seed));

        // x feeds both the convolution and the shortcut: its gradient is the sum of both branches'.
        all.addAll(check("residual_add(x+conv(x))", new String[] {"input", "weight"},
                new Tensor[] {gaussian(seed + 7, 2, 4, 5, 5), gaussian(seed + 8, 4, 4, 3, 3)},
                in -> {
                    Tensor y = Tensor.zeros(in[0].shape());
                    CpuOps.conv2d(y, in[0], in[1], null, 1, 1);
                    CpuOps.add(y, y, in[0], false);
                    return y;
                },
                (in, dy) -> {
                    Tensor dx = Tensor.zeros(in[0].shape()), dw = Tensor.zeros(in[1].shape());
                    CpuGrads.conv2dBackwardData(dx, dy, in[1], 1, 1, 1);
                    CpuGrads.conv2dBackwardFilter(dw, dy, in[0], 1, 1, 1);
                    CpuGrads.accumulate(dx, dy);
                    return new Tensor[] {dx, dw};
                }, seed));

        Tensor mean = gaussian(seed + 9, 3), var = positive(seed + 10, 3);
        all.addAll(check("batch_norm_eval", new String[] {"input", "gamma", "beta"},
                new Tensor[] {gaussian(seed + 11, 2, 3, 4, 4), gaussian(seed + 12, 3), gaussian(seed + 13, 3)},
                in -> {
                    Tensor y = Tensor.zeros(in[0].shape());
                    CpuOps.batchNorm(y, in[0], in[1], in[2], mean, var, 1e-5f, false);
                    return y;
                },
                (in, dy) -> {
                    Tensor dx = Tensor.zeros(in[0].shape()), dg = Tensor.zeros(3), db = Tensor.zeros(3);
                    CpuGrads.batchNormBackward(dx, dg, db, dy, in[0], in[1], mean, var, 1e-5f);
                    return new Tensor[] {dx, dg, db};
                }, seed));

        all.addAll(check("batch_norm_train", new String[] {"input", "gamma", "beta"},
                new Tensor[] {gaussian(seed + 14, 2, 3, 4, 4), gaussian(seed + 15, 3), gaussian(seed + 16, 3)},
                in -> batchNormTrain(in[0], in[1], in[2], null, null),
                (in, dy) -> {
                    Tensor m = Tensor.zeros(3), inv = Tensor.zeros(3);
                    batchNormTrain(in[0], in[1], in[2], m, inv);
                    Tensor dx = Tensor.zeros(in[0].shape()), dg = Tensor.zeros(3), db = Tensor.zeros(3);
                    CpuGrads.batchNormTrainBackward(dx, dg, db, dy, in[0], in[1], m, inv);
                    return new Tensor[] {dx, dg, db};
                }, seed));

        // {kernel, stride, pad, groups}; the grouped ones are ResNeXt's 3x3 (6 input, 4 output channels in 2 groups).
        int[][] convs = {{3, 1, 1, 1}, {3, 2, 1, 1}, {1, 1, 0, 1}, {1, 2, 0, 1}, {7, 2, 3, 1}, {3, 2, 0, 1},
                {3, 1, 1, 2}, {3, 2, 1, 2}};
        for (int[] cfg : convs) {
            int r = cfg[0], stride = cfg[1], pad = cfg[2], groups = cfg[3];
            int c = groups == 1 ? 3 : 6;
            String name = groups == 1 ? String.format(Locale.ROOT, "conv2d(%dx%d,s%d,p%d)", r, r, stride, pad)
                    : String.format(Locale.ROOT, "conv2d(%dx%d,s%d,p%d,g%d)", r, r, stride, pad, groups);
            all.addAll(check(name, new String[] {"input", "weight"},
                    new Tensor[] {gaussian(seed + 17 + r + groups, 2, c, 9, 9),
                            gaussian(seed + 18 + r + groups, 4, c / groups, r, r)},
                    in -> conv(in[0], in[1], stride, pad, groups),
                    (in, dy) -> {
                        Tensor dx = Tensor.zeros(in[0].shape()), dw = Tensor.zeros(in[1].shape());
                        CpuGrads.conv2dBackwardData(dx, dy, in[1], stride, pad, groups);
                        CpuGrads.conv2dBackwardFilter(dw, dy, in[0], stride, pad, groups);
                        return new Tensor[] {dx, dw};
                    }, seed));
        }

        all.addAll(check("max_pool(3,s2,p1)", new String[] {"input"}, new Tensor[] {distinct(seed + 30, 0.05f, 2, 3, 7, 7)},
                in -> maxPool(in[0]),
                (in, dy) -> {
                    Tensor d = Tensor.zeros(in[0].shape());
                    CpuGrads.maxPoolBackward(d, dy, in[0], maxPool(in[0]), 3, 2, 1);
                    return new Tensor[] {d};
                }, seed));

        print(out, all);
        return all;
    }

    /** The table: op, tensor, elements checked, max abs error, max rel error, pass/FAIL. */
    public static void print(PrintWriter out, List<Result> results) {
        out.printf(Locale.ROOT, "%-26s %-8s %7s %12s %12s  %s%n", "op", "tensor", "checked", "max abs err", "max rel err", "result");
        for (Result r : results) {
            out.printf(Locale.ROOT, "%-26s %-8s %7d %12.3e %12.3e  %s%n", r.op(), r.tensor(), r.checked(), r.maxAbs(),
                    r.maxRel(), r.pass() ? "pass" : "FAIL");
        }
        long failed = results.stream().filter(r -> !r.pass()).count();
        out.printf(Locale.ROOT, "%d tensors checked, %d failed (epsilon %.0e, floor max(%.0e, %.0e x max|grad|), "
                + "tolerance %.0e)%n", results.size(), failed, EPSILON, FLOOR, FLOOR_FRACTION, TOLERANCE);
        out.flush();
    }

    // ---------------------------------------------------------------- inputs and small forwards

    private static Tensor conv(Tensor x, Tensor w, int stride, int pad, int groups) {
        int p = (x.dim(2) + 2 * pad - w.dim(2)) / stride + 1, q = (x.dim(3) + 2 * pad - w.dim(3)) / stride + 1;
        Tensor y = Tensor.zeros(x.dim(0), w.dim(0), p, q);
        CpuOps.conv2d(y, x, w, null, stride, pad, groups);
        return y;
    }

    private static Tensor maxPool(Tensor x) {
        Tensor y = Tensor.zeros(x.dim(0), x.dim(1), (x.dim(2) - 1) / 2 + 1, (x.dim(3) - 1) / 2 + 1);
        CpuOps.maxPool(y, x, 3, 2, 1);
        return y;
    }

    /** Training-mode BN on copies of nothing shared: running statistics are left out (null) or throwaway. */
    private static Tensor batchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd) {
        int c = x.dim(1);
        Tensor y = Tensor.zeros(x.shape());
        CpuGrads.batchNormTrain(y, saveMean != null ? saveMean : Tensor.zeros(c), saveInvStd != null ? saveInvStd
                : Tensor.zeros(c), x, gamma, beta, null, null, CpuGrads.BN_MOMENTUM, 1e-5f);
        return y;
    }

    private static void scale(Tensor t, float s) {
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] *= s;
        }
    }

    static Tensor gaussian(long seed, int... dims) {
        Random rnd = new Random(seed);
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) rnd.nextGaussian();
        }
        return t;
    }

    private static Tensor positive(long seed, int... dims) {
        Random rnd = new Random(seed);
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = 0.5f + rnd.nextFloat();
        }
        return t;
    }

    /** Gaussian values pushed at least {@code margin} away from ReLU's kink at 0. */
    static Tensor awayFromZero(long seed, float margin, int... dims) {
        Tensor t = gaussian(seed, dims);
        for (int i = 0; i < t.size(); i++) {
            float v = t.data()[i];
            t.data()[i] = Math.copySign(margin + Math.abs(v), v);
        }
        return t;
    }

    /** A shuffled ladder of values {@code gap} apart, so no perturbation smaller than gap/2 changes a window's winner. */
    static Tensor distinct(long seed, float gap, int... dims) {
        Tensor t = Tensor.zeros(dims);
        int n = t.size();
        Random rnd = new Random(seed);
        for (int i = 0; i < n; i++) {
            t.data()[i] = (i - n / 2) * gap;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            float tmp = t.data()[i];
            t.data()[i] = t.data()[j];
            t.data()[j] = tmp;
        }
        return t;
    }
}
