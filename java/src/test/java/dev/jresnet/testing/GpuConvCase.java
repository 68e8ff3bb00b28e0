package dev.jresnet.testing;

import java.util.List;

/**
 * One convolution shape of the GPU op tests, input [n, c, h, h] and weight [k, c/groups, r, r]: the shapes
 * {@code GpuOpsGpuTest} runs and {@link PrecisionNoise} measures their rounding noise on, kept in one list so the
 * two cannot drift apart.
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
}
