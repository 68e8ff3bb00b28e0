package dev.jresnet.cpu;

/**
 * A convolution engine with weights packed once and a fused epilogue, behind an interface without
 * Vector API types, so that {@link FusedConv} can hold one without linking the Vector API.
 */
interface ConvDriver {
    /** The weights [K, CRS] in the layout {@link #run} reads. */
    GemmKernel.PackedMatrix pack(float[] weight, int k, int crs);

    /**
     * out[n,k,p,q] = epilogue(conv(in, weight)), where per output channel ch the epilogue is
     * {@code y = acc * scale[ch] + shift[ch]}, then {@code y = y + residual} when residual is not null,
     * then {@code y = max(y, 0)} when relu: each step rounded to float, as the unfused ops do.
     */
    void run(GemmKernel.PackedMatrix weight, float[] out, float[] in, int n, int k, Conv2d.Geometry g,
             float[] scale, float[] shift, float[] residual, boolean relu);
}
