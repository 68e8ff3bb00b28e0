package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Max pooling as PyTorch 1.13 defines it, written from the definition rather than from the engine's scan, so that a
 * rule shared by every implementation (the start value, how NaN is treated) is checked too: a window holding a NaN
 * gives NaN (its gradient goes to the window's last NaN in row-major order), any other window its largest value (the
 * gradient to the first of equal maxima), and padding never wins. Checked with torch 1.13: max_pool2d of
 * [[1, nan, 3], [nan, -5, 2], [0, 9, 1]] (3x3) is nan with index 3; of [[-1, -2], [-3, -4]] (3x3, stride 2, pad 1) -1.
 */
final class NaiveMaxPool {
    private NaiveMaxPool() {}

    /**
     * Ordinary activations before a ReLU, [dims]: Gaussian shifted by -0.5, so that windows that are all negative
     * are common (about 4 % of 3x3 windows, 23 % of 2x2), and 2 % NaN (about 17 % of 3x3 windows hold one).
     */
    static Tensor input(long seed, int... dims) {
        Random r = new Random(seed);
        Tensor t = Tensor.zeros(dims);
        float[] x = t.data();
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextInt(50) == 0 ? Float.NaN : (float) (r.nextGaussian() - 0.5);
        }
        return t;
    }

    /** out[N,C,P,Q] of in[N,C,H,W]. */
    static Tensor forward(Tensor in, int kernel, int stride, int pad) {
        int[] winners = winners(in, kernel, stride, pad);
        Tensor out = Tensor.zeros(in.dim(0), in.dim(1), outSize(in.dim(2), kernel, stride, pad),
                outSize(in.dim(3), kernel, stride, pad));
        for (int o = 0; o < winners.length; o++) {
            out.data()[o] = in.data()[winners[o]];
        }
        return out;
    }

    /** For each output (in NCHW order) the index into in.data() of the input that wins its window. */
    static int[] winners(Tensor in, int kernel, int stride, int pad) {
        int planes = in.dim(0) * in.dim(1), h = in.dim(2), w = in.dim(3);
        int p = outSize(h, kernel, stride, pad), q = outSize(w, kernel, stride, pad);
        float[] x = in.data();
        int[] win = new int[planes * p * q];
        for (int plane = 0; plane < planes; plane++) {
            for (int op = 0; op < p; op++) {
                for (int oq = 0; oq < q; oq++) {
                    int best = -1, lastNan = -1;
                    for (int kr = 0; kr < kernel; kr++) {
                        for (int ks = 0; ks < kernel; ks++) {
                            int ih = op * stride - pad + kr, iw = oq * stride - pad + ks;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) {
                                continue;   // padding: not a candidate at all
                            }
                            int i = (plane * h + ih) * w + iw;
                            if (Float.isNaN(x[i])) {
                                lastNan = i;
                            } else if (best < 0 || x[i] > x[best]) {
                                best = i;
                            }
                        }
                    }
                    win[(plane * p + op) * q + oq] = lastNan >= 0 ? lastNan : best;
                }
            }
        }
        return win;
    }

    /**
     * Fails unless {@code in} has, for this window, windows that are all negative (where a start at 0 instead of
     * -inf, or padding that wins, shows), windows holding a NaN, and windows whose maximum is positive.
     */
    static void requireEveryKindOfWindow(Tensor in, int kernel, int stride, int pad) {
        int[] winners = winners(in, kernel, stride, pad);
        int negative = 0, nan = 0, positive = 0;
        for (int i : winners) {
            float v = in.data()[i];
            if (Float.isNaN(v)) {
                nan++;
            } else if (v < 0) {
                negative++;
            } else {
                positive++;
            }
        }
        assertTrue(negative > 0 && nan > 0 && positive > 0, "the input must exercise every kind of window: "
                + negative + " all negative, " + nan + " with NaN, " + positive + " positive");
    }

    /** NaN exactly where {@code want} has NaN (any payload), equal (==, so -0.0 matches 0.0) elsewhere. */
    static void assertSame(Tensor want, Tensor got, String what) {
        assertTrue(want.shape().equals(got.shape()), what + ": shape " + got.shape() + ", expected " + want.shape());
        float[] a = want.data(), b = got.data();
        for (int i = 0; i < a.length; i++) {
            boolean same = Float.isNaN(a[i]) ? Float.isNaN(b[i]) : a[i] == b[i];
            if (!same) {
                throw new AssertionError(what + ": element " + i + " is " + b[i] + ", PyTorch's max pool gives "
                        + a[i]);
            }
        }
    }

    private static int outSize(int size, int kernel, int stride, int pad) {
        return (size + 2 * pad - kernel) / stride + 1;
    }
}
