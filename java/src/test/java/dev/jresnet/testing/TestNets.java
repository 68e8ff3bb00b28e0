package dev.jresnet.testing;

import dev.jresnet.cuda.Doctor;
import dev.jresnet.cpu.DirectConv;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.CpuConvolution;
import dev.jresnet.graph.CpuInference;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.nn.TensorVisitor;
import dev.jresnet.tensor.Tensor;

import java.util.SplittableRandom;

/** Seeded networks and inputs shared by the GPU-engine tests. */
public final class TestNets {
    private TestNets() {}

    /**
     * torchvision's seeded initialisation with random BatchNorm statistics and affine parameters (as the PyTorch
     * reference test does), so that folding is exercised with non-trivial values.
     */
    public static Network randomBnGraph(long seed) {
        return randomBn(Architecture.imagenet(), seed);
    }

    /** {@link #randomBnGraph} for any architecture. */
    public static Network randomBn(Architecture a, long seed) {
        Network g = new Network(a);
        WeightBinding.initialise(g, seed);
        SplittableRandom r = new SplittableRandom(seed ^ 0x5eed);
        g.visitTensors((name, t, kind) -> {
            float[] d = t.data();
            if (name.endsWith("running_mean") || (name.endsWith(".bias") && !name.startsWith("fc"))) {
                for (int i = 0; i < d.length; i++) {
                    d[i] = (float) (r.nextDouble() * 0.2 - 0.1);
                }
            } else if (name.endsWith("running_var") || (kind == TensorVisitor.Kind.PARAMETER && t.rank() == 1
                    && name.endsWith(".weight"))) {
                for (int i = 0; i < d.length; i++) {
                    d[i] = (float) (0.5 + r.nextDouble());
                }
            }
        });
        return g;
    }

    /**
     * The fast CPU path without Winograd's layers (the direct convolution, else im2col + GEMM), which is bit for bit
     * the reference ops: for tests of everything but Winograd's rounding.
     */
    public static CpuInference bitwiseFastPath(Network net) {
        return new CpuInference(net, DirectConv.available() ? CpuConvolution.direct() : CpuConvolution.gemm());
    }

    public static Tensor randomInput(int n, int size, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(n, 3, size, size);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) (r.nextDouble() * 4 - 2);
        }
        return t;
    }

    public static Tensor random(SplittableRandom r, double scale, int... dims) {
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return t;
    }

    /** ||a - b|| / ||b||. */
    public static double relL2(float[] a, float[] b) {
        return Doctor.relativeL2(a, b);
    }

    public static int argmax(float[] v, int from, int len) {
        int best = 0;
        for (int i = 1; i < len; i++) {
            if (v[from + i] > v[from + best]) {
                best = i;
            }
        }
        return best;
    }

    /** v[top] - v[second] over v[from, from + len): how far the top-1 is from a tie. */
    public static double topMargin(float[] v, int from, int len) {
        int top = argmax(v, from, len);
        double second = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) {
            if (i != top) {
                second = Math.max(second, v[from + i]);
            }
        }
        return v[from + top] - second;
    }

    /** Σ v², in double. */
    public static double sumOfSquares(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return s;
    }

    /**
     * The largest error of one channel of features [N, C]: max over c of ||got[:, c] - want[:, c]|| divided by the
     * root mean square of the channels' norms ||want[:, c]||. A fault confined to a few channels, which the relative
     * L2 of the whole tensor dilutes by sqrt(C / channels), stands out here.
     */
    public static double worstChannel(float[] got, float[] want, int channels) {
        if (got.length != want.length || want.length % channels != 0) {
            throw new IllegalArgumentException(got.length + " and " + want.length + " values are not [N, " + channels
                    + "] both");
        }
        double[] err = new double[channels];
        double total = 0;
        for (int i = 0; i < want.length; i++) {
            double d = (double) got[i] - want[i];
            err[i % channels] += d * d;
            total += (double) want[i] * want[i];
        }
        double worst = 0;
        for (double e : err) {
            worst = Math.max(worst, e);
        }
        return total == 0 ? Math.sqrt(worst) : Math.sqrt(worst / (total / channels));
    }
}
