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
# The default tiles (4 x 1..7 on 512-bit vectors, 2 x 1..6 on 256-bit ones) also come with their pixels a constant L
# or 2 * L floats apart (stride 1 and 2 on blocked inputs): the broadcasts then address x[xi + constant], freeing the
# six registers of the pixel offsets (measured 124 -> 133-135 GFLOP/s for 4x7 on one AVX-512 core, data in L1).
DEFAULT_TILES = [(4, w) for w in range(1, 8)] + [(2, w) for w in range(1, 7)]
PIXEL_STRIDES = [("1", "L"), ("2", "2 * L")]


def accumulate(ob, w, header, loop_open, loop_close, indent, block_stride="L", pixel_stride=None):
    """One tile method: the pixel offsets, the accumulators (zero or continued from y), the step loop(s) given by
    loop_open/loop_close around the step body (indented by indent), then the stores. Weight block o of a step lies
    at wi + o * block_stride; pixel p at xi + p * ps, or p * pixel_stride where that is a constant."""
    out = list(header)
    if pixel_stride is None:
        for p in range(1, w):
            out.append(f"        int o{p} = {p} * ps;")
    out.append("        FloatVector z = FloatVector.zero(S);")
    for o in range(ob):
        base = "yBase" if o == 0 else f"yBase + {o} * yChan"
        for p in range(w):
            out.append(f"        FloatVector a{o}{p} = zero ? z : FloatVector.fromArray(S, y, {base}{'' if p == 0 else f' + {p} * L'});")
    out.extend(loop_open)
    for o in range(ob):
        out.append(f"{indent}FloatVector w{o} = FloatVector.fromArray(S, wt, wi{'' if o == 0 else f' + {o} * {block_stride}'});")
    for p in range(w):
        offset = f" + o{p}" if pixel_stride is None else f" + {p} * {pixel_stride}"
        out.append(f"{indent}FloatVector x{p} = FloatVector.broadcast(S, x[xi{'' if p == 0 else offset}]);")
        for o in range(ob):
            out.append(f"{indent}a{o}{p} = x{p}.fma(w{o}, a{o}{p});")
    out.extend(loop_close)
    for o in range(ob):
        base = "yBase" if o == 0 else f"yBase + {o} * yChan"
        for p in range(w):
            out.append(f"        a{o}{p}.intoArray(y, {base}{'' if p == 0 else f' + {p} * L'});")
    out.append("    }")
    return "\n".join(out)


def tile(ob, w):
    return accumulate(ob, w, [
        f"    /** {ob} blocks x {w} pixel{'s' if w > 1 else ''}: {ob * w} accumulators + {ob} weight vectors. */",
        f"    static void tile{ob}x{w}(int t0, int t1, float[] x, int xBase, int ps, int[] taps, float[] wt, int wi,",
        f"            float[] y, int yBase, int yChan, boolean zero) {{",
    ], [
        f"        for (int t = t0; t < t1; t++, wi += {ob} * L) {{",
        "            int xi = xBase + taps[t];",
    ], ["        }"], "            ")


def tile_blocks(ob, w, stride=None):
    """The same tile for inputs whose steps are whole blocks of L consecutive channels (1x1 convolutions, Winograd's
    products): a counted loop over the L channels of a block, whose x indices C2 can prove in range once per loop
    instead of once per broadcast (measured 146 vs 119 GFLOP/s for 4x7 on one AVX-512 core, data in L1). With
    {@code stride} = (name, floats), its pixels a constant number of floats apart."""
    name, pixel_stride = (f"blocks{ob}x{w}", None) if stride is None else (f"blocks{ob}x{w}s{stride[0]}", stride[1])
    apart = "" if stride is None else f", pixels {pixel_stride} floats apart"
    return accumulate(ob, w, [
        f"    /** {ob} blocks x {w} pixel{'s' if w > 1 else ''}, steps in whole blocks of channels {{@code plane}} apart,"
        f" weight blocks {{@code ws}} apart{apart}. */",
        f"    static void {name}(int b0, int b1, float[] x, int xBase, int plane, {'int ps, ' if stride is None else ''}float[] wt,",
        f"            int wi, int ws, float[] y, int yBase, int yChan, boolean zero) {{",
    ], [
        "        for (int b = b0; b < b1; b++) {",
        "            int xb = xBase + b * plane;",
        "            for (int ci = 0; ci < L; ci++, wi += L) {",
        "                int xi = xb + ci;",
    ], ["            }", "        }"], "                ", "ws", pixel_stride)


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
     * the same order as {@link #tile} with taps[t] = t / L * plane + t % L. Weight block o of step t lies at
     * wt[wi + o * ws + (t - t0) * L ..]: one stream of weights per output block ([K/L][steps][L], ws = steps * L),
     * which the hardware prefetchers follow OB times further ahead than one stream of OB * L floats a step.
     */
    static void blocks(int blocks, int w, int b0, int b1, float[] x, int xBase, int plane, int ps, float[] wt, int wi,
                       int ws, float[] y, int yBase, int yChan, boolean zero) {
        int tile = blocks * 16 + w;
        if (ps == L || ps == 2 * L) {
            boolean one = ps == L;
            switch (tile) {""")
    for ob, w in DEFAULT_TILES:
        args = "(b0, b1, x, xBase, plane, wt, wi, ws, y, yBase, yChan, zero)"
        print(f"                case {ob * 16 + w} -> {{")
        print(f"                    if (one) {{")
        print(f"                        blocks{ob}x{w}s1{args};")
        print(f"                    }} else {{")
        print(f"                        blocks{ob}x{w}s2{args};")
        print(f"                    }}")
        print(f"                    return;")
        print(f"                }}")
    print("""                default -> { }  // a tile without constant-stride copies: the general one below
            }
        }
        switch (tile) {""")
    for ob, w in TILES:
        print(f"            case {ob * 16 + w} -> blocks{ob}x{w}(b0, b1, x, xBase, plane, ps, wt, wi, ws, y, yBase, yChan, zero);")
    print("""            default -> throw new IllegalStateException("no direct tile " + blocks + "x" + w);
        }
    }
""")
    print("\n\n".join(tile(ob, w) for ob, w in TILES))
    print()
    print("\n\n".join(tile_blocks(ob, w) for ob, w in TILES))
    for stride in PIXEL_STRIDES:
        print()
        print("\n\n".join(tile_blocks(ob, w, stride) for ob, w in DEFAULT_TILES))
    print("}")


if __name__ == "__main__":
    main()
