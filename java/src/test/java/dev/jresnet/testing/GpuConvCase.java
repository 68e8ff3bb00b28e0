package dev.jresnet.testing;

import dev.jresnet.tensor.Tensor;

import java.util.List;
import java.util.SplittableRandom;

/**
 * One convolution shape of the GPU op tests, input [n, c, h, h] and weight [k, c/groups, r, r]. {@link #ALL}: the
 * shapes {@code GpuOpsGpuTest} runs and {@link PrecisionNoise} measures their rounding noise on, kept in one list so
 * the two cannot drift apart ({@code GpuGradsGpuTest} has its own, smaller list).
 */
public record GpuConvCase(int n, int c, int h, int k, int r, int stride, int pad, int groups) {
    /** The family's convolutions, smaller spatially: stem, 1x1, 3x3, strided, and ResNeXt's grouped 3x3. */
    public static final List<GpuConvCase> ALL = List.of(
            new GpuConvCase(2, 3, 32, 64, 7, 2, 3, 1),
            new GpuConvCase(2, 64, 14, 64, 1, 1, 0, 1),
            new GpuConvCase(3, 64, 14, 64, 3, 1, 1, 1),
            new GpuConvCase(2, 128, 14, 128, 3, 2, 1, 1),
            new GpuConvCase(2, 256, 8, 512, 1, 2, 0, 1),
            new GpuConvCase(2, 128, 14, 128, 3, 1, 1, 32),
            new GpuConvCase(2, 256, 14, 256, 3, 2, 1, 32));

    /** The output's height and width. */
    public int outSize() {
        return (h + 2 * pad - r) / stride + 1;
    }

    /** A random input [n, c, h, h], unit normal, drawn from rng. */
    public Tensor input(SplittableRandom rng) {
        return TestNets.random(rng, 1, n, c, h, h);
    }

    /** A random weight [k, c/groups, r, r] drawn from rng, scaled by 1/sqrt(fan-in) so outputs stay near unit size. */
    public Tensor weight(SplittableRandom rng) {
        int cg = c / groups;
        return TestNets.random(rng, 1 / Math.sqrt(cg * r * r), k, cg, r, r);
    }
}
