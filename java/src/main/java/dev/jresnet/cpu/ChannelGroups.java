package dev.jresnet.cpu;

/**
 * Grouped convolutions as independent convolutions on channel slices: group g of {@code groups} reads input channels
 * [g·C/G, (g+1)·C/G) and writes output channels [g·K/G, (g+1)·K/G) with weight rows [g·K/G, (g+1)·K/G). These
 * helpers copy one group's channels of every image of an NCHW array into a dense array and back, so each group runs
 * through exactly the code (and rounding) of an ungrouped convolution.
 */
final class ChannelGroups {
    private ChannelGroups() {}

    /** dst[n][cg][plane] = src[n][c0 + j][plane] for j < cg, src having {@code channels} channels per image. */
    static float[] gather(float[] src, int n, int channels, int plane, int c0, int cg, float[] dst) {
        for (int img = 0; img < n; img++) {
            System.arraycopy(src, (img * channels + c0) * plane, dst, img * cg * plane, cg * plane);
        }
        return dst;
    }

    /** The inverse of {@link #gather}: dst[n][c0 + j][plane] = src[n][j][plane]. */
    static void scatter(float[] src, int n, int channels, int plane, int c0, int cg, float[] dst) {
        for (int img = 0; img < n; img++) {
            System.arraycopy(src, img * cg * plane, dst, (img * channels + c0) * plane, cg * plane);
        }
    }

    /** Elements [from, from + length) of {@code a} as a new array (a group's weight rows or per-channel values). */
    static float[] slice(float[] a, int from, int length) {
        float[] out = new float[length];
        System.arraycopy(a, from, out, 0, length);
        return out;
    }

    static void requireDivides(String op, int groups, int c, int k) {
        if (groups < 1 || c % groups != 0 || k % groups != 0) {
            throw new IllegalArgumentException(op + ": " + groups + " groups must divide the " + c
                    + " input channels and the " + k + " output channels");
        }
    }
}
