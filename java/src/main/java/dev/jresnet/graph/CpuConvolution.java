package dev.jresnet.graph;

import dev.jresnet.cpu.DirectConv;

/**
 * How {@link CpuInference} runs a convolution: directly on blocked activations ({@link DirectConv}, on the tile of
 * {@code blocks} x {@code pixels}) where it supports the layer, im2col + GEMM ({@link dev.jresnet.cpu.FusedConv}) on
 * the others; or im2col + GEMM everywhere. Both are bit for bit the reference ops. The system property
 * {@code jresnet.cpu.conv} chooses: {@code direct} (the default where the Vector API is present), {@code direct-4x7}
 * (a tile), or {@code gemm} (the default without the Vector API, which the direct kernels need).
 */
public record CpuConvolution(boolean isDirect, int blocks, int pixels) {
    public static final String PROPERTY = "jresnet.cpu.conv";

    /** im2col + GEMM on [N, C, H, W] for every convolution. */
    public static CpuConvolution gemm() {
        return new CpuConvolution(false, 0, 0);
    }

    /** The direct convolution on this vector size's default tile. Needs the Vector API. */
    public static CpuConvolution direct() {
        return parse("direct");
    }

    /** What the property asks for, else direct with the Vector API and GEMM without. */
    public static CpuConvolution chosen() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            return DirectConv.available() ? direct() : gemm();
        }
        return parse(v.trim());
    }

    /** {@code gemm}, {@code direct} or {@code direct-BxP}; an IllegalStateException naming the property otherwise. */
    static CpuConvolution parse(String v) {
        if (v.equals("gemm")) {
            return gemm();
        }
        if (!v.equals("direct") && !v.matches("direct-\\d{1,2}x\\d{1,2}")) {
            throw new IllegalStateException(PROPERTY + "=" + v + ": expected direct, direct-BLOCKSxPIXELS (e.g. direct-"
                    + "4x7) or gemm");
        }
        if (!DirectConv.available()) {
            throw new IllegalStateException(PROPERTY + "=" + v + ": the direct convolution needs the Vector API; start"
                    + " Java with --add-modules jdk.incubator.vector, or use gemm");
        }
        String tile = v.equals("direct") ? DirectConv.defaultTile() : v.substring("direct-".length());
        int blocks = Integer.parseInt(tile.substring(0, tile.indexOf('x')));
        int pixels = Integer.parseInt(tile.substring(tile.indexOf('x') + 1));
        if (!DirectConv.hasTile(blocks, pixels)) {
            throw new IllegalStateException(PROPERTY + "=" + v + ": no direct tile " + tile + "; known: 4x1 to 4x7, "
                    + "2x1 to 2x14");
        }
        return new CpuConvolution(true, blocks, pixels);
    }

    /** For device descriptions: "direct convolution, 16-channel blocks, tile 4x7" or "im2col + GEMM". */
    public String describe() {
        return isDirect ? "direct convolution, " + DirectConv.lanes() + "-channel blocks, tile " + blocks + "x" + pixels
                : "im2col + GEMM";
    }
}
