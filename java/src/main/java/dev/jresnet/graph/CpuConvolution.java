package dev.jresnet.graph;

import dev.jresnet.cpu.DirectConv;

/**
 * How {@link CpuInference} runs a convolution: directly on blocked activations ({@link DirectConv}, on the tile of
 * {@code blocks} x {@code pixels}) where it supports the layer, im2col + GEMM ({@link dev.jresnet.cpu.FusedConv}) on
 * the others, with or without Winograd's F(2x2, 3x3) for the 3x3 stride-1 layers of up to 256 input channels
 * (ResNet's layer1-3) and the other 3x3 layers summed tap by tap; or im2col + GEMM everywhere. Without Winograd
 * both are bit for bit the reference ops; with it, each such layer is within 1e-6 relative L2 of them (Winograd's
 * closer to the exact result than they are). The
 * system property {@code jresnet.cpu.conv} chooses: {@code winograd} (the default where the Vector API is present),
 * {@code direct} (bit for bit), {@code direct-4x7} (a tile), or {@code gemm} (the default without the Vector API,
 * which the direct kernels need).
 */
public record CpuConvolution(boolean isDirect, int blocks, int pixels, boolean usesWinograd) {
    public static final String PROPERTY = "jresnet.cpu.conv";

    /** im2col + GEMM on [N, C, H, W] for every convolution. */
    public static CpuConvolution gemm() {
        return new CpuConvolution(false, 0, 0, false);
    }

    /** The direct convolution on this vector size's default tile, bit for bit the reference. Needs the Vector API. */
    public static CpuConvolution direct() {
        return parse("direct");
    }

    /**
     * The direct convolution on the default tile, with the 3x3 stride-1 layers of up to 256 input channels by
     * Winograd's F(2x2, 3x3) and the other 3x3 layers summed tap by tap: within 1e-6 relative L2 of the reference per
     * layer (layer4's 3x3, whose reference is itself 1e-6 from float64: as close to float64) rather than bit for bit.
     * Needs the Vector API.
     */
    public static CpuConvolution winograd() {
        return parse("winograd");
    }

    /** What the property asks for, else Winograd + direct with the Vector API and GEMM without. */
    public static CpuConvolution chosen() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            return DirectConv.available() ? winograd() : gemm();
        }
        return parse(v.trim());
    }

    /** {@code gemm}, {@code direct} or {@code direct-BxP}; an IllegalStateException naming the property otherwise. */
    static CpuConvolution parse(String v) {
        if (v.equals("gemm")) {
            return gemm();
        }
        boolean winograd = v.equals("winograd");
        if (!winograd && !v.equals("direct") && !v.matches("direct-\\d{1,2}x\\d{1,2}")) {
            throw new IllegalStateException(PROPERTY + "=" + v + ": expected winograd, direct, direct-BLOCKSxPIXELS (e.g."
                    + " direct-4x7) or gemm");
        }
        if (!DirectConv.available()) {
            throw new IllegalStateException(PROPERTY + "=" + v + ": the direct convolution needs the Vector API; start"
                    + " Java with --add-modules jdk.incubator.vector, or use gemm");
        }
        String tile = v.equals("direct") || winograd ? DirectConv.defaultTile() : v.substring("direct-".length());
        int blocks = Integer.parseInt(tile.substring(0, tile.indexOf('x')));
        int pixels = Integer.parseInt(tile.substring(tile.indexOf('x') + 1));
        if (!DirectConv.hasTile(blocks, pixels)) {
            throw new IllegalStateException(PROPERTY + "=" + v + ": no direct tile " + tile + "; known: 4x1 to 4x7, "
                    + "2x1 to 2x14");
        }
        return new CpuConvolution(true, blocks, pixels, winograd);
    }

    /**
     * For device descriptions: "direct convolution, 16-channel blocks, tile 4x7 (4x6 on rows wider than 14, 4x5 on 14)" or
     * "im2col + GEMM".
     */
    public String describe() {
        return isDirect ? "direct convolution, " + DirectConv.lanes() + "-channel blocks, tile "
                + DirectConv.describeTile(blocks, pixels)
                + (usesWinograd ? ", Winograd F(2x2,3x3) on 3x3 stride 1 up to 256 channels, other 3x3 tap by tap" : "")
                : "im2col + GEMM";
    }
}
