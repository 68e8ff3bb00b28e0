#!/usr/bin/env python3
"""Prints dev.jresnet.cpu.DirectTiles: the register tiles of the direct (blocked-channel) convolution.

A tile computes OB blocks of L output channels for W consecutive pixels of one output row: OB*W accumulators, each
the chain of fused multiply-adds over every (input channel, r, s) step in that order, the reference GEMM's order. One method per
(OB, W) with named accumulators, because C2 keeps locals in registers but not array elements.

    python3 bench/tools/direct_tiles.py > java/src/main/java/dev/jresnet/cpu/DirectTiles.java

The tiles: 4 x 1..7 (the default for 512-bit vectors: 28 accumulators + 4 weight vectors of 32 registers; 7
divides every ResNet width at 224x224: 56, 28, 14, 7) and 2 x 1..14 (2 x 6 is the default for 256-bit vectors:
12 + 2 of 16 registers; 2 x 14 another choice for 512-bit ones).
"""

TILES = [(4, w) for w in range(1, 8)] + [(2, w) for w in range(1, 15)]


def tile(ob, w):
    out = []
    out.append(f"    /** {ob} blocks x {w} pixel{'s' if w > 1 else ''}: {ob * w} accumulators + {ob} weight vectors. */")
    out.append(f"    static void tile{ob}x{w}(int t0, int t1, float[] x, int xBase, int ps, int[] taps, float[] wt, int wi,")
    out.append(f"            float[] y, int yBase, int yChan, boolean zero) {{")
    for p in range(1, w):
        out.append(f"        int o{p} = {p} * ps;")
    out.append("        FloatVector z = FloatVector.zero(S);")
    for o in range(ob):
        base = "yBase" if o == 0 else f"yBase + {o} * yChan"
        for p in range(w):
            out.append(f"        FloatVector a{o}{p} = zero ? z : FloatVector.fromArray(S, y, {base}{'' if p == 0 else f' + {p} * L'});")
    out.append(f"        for (int t = t0; t < t1; t++, wi += {ob} * L) {{")
    out.append("            int xi = xBase + taps[t];")
    for o in range(ob):
        out.append(f"            FloatVector w{o} = FloatVector.fromArray(S, wt, wi{'' if o == 0 else f' + {o} * L'});")
    for p in range(w):
        out.append(f"            FloatVector x{p} = FloatVector.broadcast(S, x[xi{'' if p == 0 else f' + o{p}'}]);")
        for o in range(ob):
            out.append(f"            a{o}{p} = x{p}.fma(w{o}, a{o}{p});")
    out.append("        }")
    for o in range(ob):
        base = "yBase" if o == 0 else f"yBase + {o} * yChan"
        for p in range(w):
            out.append(f"        a{o}{p}.intoArray(y, {base}{'' if p == 0 else f' + {p} * L'});")
    out.append("    }")
    return "\n".join(out)


def tile_blocks(ob, w):
    """The same tile for inputs whose steps are whole blocks of L consecutive channels (1x1 convolutions, Winograd's
    products): a counted loop over the L channels of a block, whose x indices C2 can prove in range once per loop
    instead of once per broadcast (measured 146 vs 119 GFLOP/s for 4x7 on one AVX-512 core, data in L1)."""
    out = []
    out.append(f"    /** {ob} blocks x {w} pixel{'s' if w > 1 else ''}, steps in whole blocks of channels {{@code plane}} apart. */")
    out.append(f"    static void blocks{ob}x{w}(int b0, int b1, float[] x, int xBase, int plane, int ps, float[] wt, int wi,")
    out.append(f"            float[] y, int yBase, int yChan, boolean zero) {{")
    for p in range(1, w):
        out.append(f"        int o{p} = {p} * ps;")
    out.append("        FloatVector z = FloatVector.zero(S);")
    for o in range(ob):
        base = "yBase" if o == 0 else f"yBase + {o} * yChan"
        for p in range(w):
            out.append(f"        FloatVector a{o}{p} = zero ? z : FloatVector.fromArray(S, y, {base}{'' if p == 0 else f' + {p} * L'});")
    out.append("        for (int b = b0; b < b1; b++) {")
    out.append("            int xb = xBase + b * plane;")
    out.append(f"            for (int ci = 0; ci < L; ci++, wi += {ob} * L) {{")
    out.append("                int xi = xb + ci;")
    for o in range(ob):
        out.append(f"                FloatVector w{o} = FloatVector.fromArray(S, wt, wi{'' if o == 0 else f' + {o} * L'});")
    for p in range(w):
        out.append(f"                FloatVector x{p} = FloatVector.broadcast(S, x[xi{'' if p == 0 else f' + o{p}'}]);")
        for o in range(ob):
            out.append(f"                a{o}{p} = x{p}.fma(w{o}, a{o}{p});")
    out.append("            }")
    out.append("        }")
    for o in range(ob):
        base = "yBase" if o == 0 else f"yBase + {o} * yChan"
        for p in range(w):
            out.append(f"        a{o}{p}.intoArray(y, {base}{'' if p == 0 else f' + {p} * L'});")
    out.append("    }")
    return "\n".join(out)


def main():
    print("""package dev.jresnet.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register tiles of {@link DirectConv}: for OB blocks of L output channels and W consecutive output pixels of one
 * row, y[o][p] (+)= sum over steps t0 <= t < t1 of x[xBase + taps[t] + p * ps] * wt[wi + (t - t0) * OB * L + o * L ..]
 * (a broadcast input value times a vector of L output channels' weights), stored raw at yBase + o * yChan + p * L:
 * from zero with {@code zero}, else continuing the sums y holds, so that a convolution's steps may come in chunks
 * (whose weights stay in L1) and still make one chain of fused multiply-adds over the steps in order.
 * {@link DirectConv} applies batch norm, the residual and ReLU after. The input is read where it lies, never
 * copied or packed.
 *
 * <p>Generated by {@code bench/tools/direct_tiles.py}; regenerate rather than edit.
 */
final class DirectTiles {
    private DirectTiles() {}

    /** The GEMM's species, never another (see {@link VectorMaxPool}). */
    static final VectorSpecies<Float> S = VectorTiles.S;
    static final int L = S.length();

    /** The default tile's blocks and pixels for this vector size. */
    static final int BLOCKS = L >= 16 ? 4 : 2;
    static final int PIXELS = L >= 16 ? 7 : 6;

    /** Whether there is a tile of these blocks for every width from 1 to {@code pixels}. */
    static boolean has(int blocks, int pixels) {
        return blocks == 4 && pixels >= 1 && pixels <= 7 || blocks == 2 && pixels >= 1 && pixels <= 14;
    }

    /**
     * y[o][p] = relu?(y[o][p] * scale[ch + o*L ..] + shift[ch + o*L ..] + res[o][p]?) for o < blocks, p < pixels at
     * yBase + o * yChan + p * L: batch norm (multiply, then add, rounded as CpuOps.batchNorm rounds), the residual
     * and ReLU on a tile just stored (still in L1). {@code lo} is 0 for ReLU, else negative infinity (max with it
     * changes nothing), so that no branch splits a vector's value.
     */
    static void epilogue(float[] y, int yBase, int yChan, int blocks, int pixels, float[] scale, float[] shift,
                         int ch, float[] res, float lo) {
        FloatVector floor = FloatVector.broadcast(S, lo);
        for (int o = 0; o < blocks; o++) {
            FloatVector sc = FloatVector.fromArray(S, scale, ch + o * L);
            FloatVector sh = FloatVector.fromArray(S, shift, ch + o * L);
            int base = yBase + o * yChan;
            if (res == null) {
                for (int p = 0, i = base; p < pixels; p++, i += L) {
                    FloatVector.fromArray(S, y, i).mul(sc).add(sh).max(floor).intoArray(y, i);
                }
            } else {
                for (int p = 0, i = base; p < pixels; p++, i += L) {
                    FloatVector.fromArray(S, y, i).mul(sc).add(sh).add(FloatVector.fromArray(S, res, i)).max(floor)
                            .intoArray(y, i);
                }
            }
        }
    }

    /** The tile of {@code blocks} blocks and {@code w} pixels ({@link #has}). */
    static void tile(int blocks, int w, int t0, int t1, float[] x, int xBase, int ps, int[] taps, float[] wt, int wi,
                     float[] y, int yBase, int yChan, boolean zero) {
        switch (blocks * 16 + w) {""")
    for ob, w in TILES:
        print(f"            case {ob * 16 + w} -> tile{ob}x{w}(t0, t1, x, xBase, ps, taps, wt, wi, y, yBase, yChan, zero);")
    print("""            default -> throw new IllegalStateException("no direct tile " + blocks + "x" + w);
        }
    }

    /**
     * As {@link #tile}, for steps that are whole blocks b0 <= b < b1 of L consecutive input channels, block b's at
     * x[xBase + b * plane ..]: a 1x1 convolution on blocked activations, or Winograd's products. The same sums in
     * the same order as {@link #tile} with taps[t] = t / L * plane + t % L.
     */
    static void blocks(int blocks, int w, int b0, int b1, float[] x, int xBase, int plane, int ps, float[] wt, int wi,
                       float[] y, int yBase, int yChan, boolean zero) {
        switch (blocks * 16 + w) {""")
    for ob, w in TILES:
        print(f"            case {ob * 16 + w} -> blocks{ob}x{w}(b0, b1, x, xBase, plane, ps, wt, wi, y, yBase, yChan, zero);")
    print("""            default -> throw new IllegalStateException("no direct tile " + blocks + "x" + w);
        }
    }
""")
    print("\n\n".join(tile(ob, w) for ob, w in TILES))
    print()
    print("\n\n".join(tile_blocks(ob, w) for ob, w in TILES))
    print("}")


if __name__ == "__main__":
    main()
