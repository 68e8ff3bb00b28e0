package dev.jresnet.bench;

import dev.jresnet.cpu.GemmKernel;
import dev.jresnet.cpu.PlainGemm;
import dev.jresnet.cpu.VectorGemm;
import dev.jresnet.graph.Architecture;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The Vector API GEMM's register tiles and blockings side by side on ResNet-50's GEMM shapes (per conv shape:
 * M = K filters, K = C·R·R, N = P·Q·batch, B already im2col'd, so this times the kernel and B's packing, on all
 * threads; A, the weights, is packed once beforehand as the engine does, and the work is split as
 * {@link dev.jresnet.cpu.VectorConv} splits it: column chunks of at most 1024, and row blocks of the weights
 * when there are fewer chunks than two per thread). Variants run in turns (A, B, C, A, B, C...) so that a noisy, shared
 * machine slows them alike; medians per shape, and the network's GEMM time (count x median, summed).
 * Each variant is checked bitwise against the first and by max rel err against the plain kernel.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp ... dev.jresnet.bench.GemmVariantLab 8 6x32 12x32 8x48 [rounds]</pre>
 */
public final class GemmVariantLab {
    private GemmVariantLab() {}

    public static void main(String[] args) {
        int batch = Integer.parseInt(args[0]);
        List<String> specs = new ArrayList<>();
        int rounds = 15;
        for (int i = 1; i < args.length; i++) {
            if (args[i].matches("\\d+")) {
                rounds = Integer.parseInt(args[i]);
            } else {
                specs.add(args[i]);
            }
        }
        List<VectorGemm> kernels = new ArrayList<>();
        for (String s : specs) {
            kernels.add(VectorGemm.variant(s));
        }
        int v = kernels.size();
        double[] network = new double[v];
        List<double[]> perShape = new ArrayList<>();
        System.out.printf(Locale.ROOT, "batch %d, %d threads, %d rounds; GFLOP/s median (min-max)%n", batch,
                dev.jresnet.cpu.Parallel.threads(), rounds);
        for (ConvShape s : ConvShape.of(Architecture.imagenet(), 224)) {
            if (s.groups() != 1) {
                continue;
            }
            int m = s.k(), k = s.c() * s.r() * s.r(), n = s.p() * s.q() * batch;
            SplittableRandom rnd = new SplittableRandom(m * 31L + k * 7L + n);
            float[] a = random(rnd, m * k), b = random(rnd, k * n);
            float[][] c = new float[v][m * n];
            GemmKernel.PackedMatrix[] packed = new GemmKernel.PackedMatrix[v];
            for (int i = 0; i < v; i++) {
                packed[i] = kernels.get(i).pack(m, k, a, 0, k);
            }
            double flops = 2.0 * m * n * k;
            // Correctness first: bitwise against the first variant, rel err against plain.
            float[] plain = new float[m * n];
            new PlainGemm().gemm(m, n, k, a, 0, k, b, 0, n, plain, 0, n, false);
            StringBuilder check = new StringBuilder();
            for (int i = 0; i < v; i++) {
                run(kernels.get(i), packed[i], n, b, c[i]);
                check.append(i > 0 && !Arrays.equals(c[0], c[i]) ? " NOT-BITWISE" : "")
                        .append(String.format(Locale.ROOT, " %.1e", relErr(c[i], plain)));
            }
            double[][] times = new double[v][rounds];
            int reps = (int) Math.max(1, Math.min(50, 2e8 / flops)); // ~2-20 ms a turn
            for (int r = -2; r < rounds; r++) { // two untimed warm-up rounds
                for (int i = 0; i < v; i++) {
                    long t0 = System.nanoTime();
                    for (int rep = 0; rep < reps; rep++) {
                        run(kernels.get(i), packed[i], n, b, c[i]);
                    }
                    if (r >= 0) {
                        times[i][r] = (System.nanoTime() - t0) / 1e9 / reps;
                    }
                }
            }
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-32s x%d M=%4d N=%6d K=%4d",
                    s.label(), s.count(), m, n, k));
            double[] med = new double[v];
            for (int i = 0; i < v; i++) {
                double[] t = times[i].clone();
                Arrays.sort(t);
                med[i] = t[rounds / 2];
                network[i] += s.count() * med[i];
                line.append(String.format(Locale.ROOT, " | %5.1f (%5.1f-%5.1f)", flops / med[i] / 1e9,
                        flops / t[rounds - 1] / 1e9, flops / t[0] / 1e9));
            }
            perShape.add(med);
            System.out.println(line + " |" + check);
        }
        StringBuilder total = new StringBuilder("network GEMM time (ms):");
        for (int i = 0; i < v; i++) {
            total.append(String.format(Locale.ROOT, " %s %.2f", kernels.get(i).detail(), network[i] * 1e3));
        }
        System.out.println(total);
    }

    /**
     * C[m, n] = A · B[k, n] from the packed A on all threads, split as VectorConv splits a 1x1 conv: column
     * chunks of at most 1024 (multiples of 16), and with fewer than two chunks per thread, row blocks of at
     * least 4 MR rows.
     */
    static void run(VectorGemm g, GemmKernel.PackedMatrix a, int n, float[] b, float[] c) {
        int m = a.rows();
        int chunks = ceilDiv(n, 1024);
        int chunk = ceilDiv(ceilDiv(n, chunks), 16) * 16;
        chunks = ceilDiv(n, chunk);
        int mr = g.rowsPerTile();
        int want = 2 * dev.jresnet.cpu.Parallel.threads();
        int rowBlocks = chunks >= want ? 1 : Math.min(ceilDiv(want, chunks), ceilDiv(m, 4 * mr));
        int rows = ceilDiv(ceilDiv(m, rowBlocks), mr) * mr;
        int blocks = ceilDiv(m, rows);
        dev.jresnet.cpu.Parallel.forEach(chunks * blocks, item -> {
            int j0 = item / blocks * chunk, m0 = item % blocks * rows;
            g.gemmRows(a, m0, Math.min(m, m0 + rows), Math.min(chunk, n - j0), b, j0, n, c, j0, n, false);
        });
    }

    static int ceilDiv(int x, int y) {
        return (x + y - 1) / y;
    }

    static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return x;
    }

    /** max |x - ref| / max |ref|. */
    static double relErr(float[] x, float[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < x.length; i++) {
            num = Math.max(num, Math.abs(x[i] - ref[i]));
            den = Math.max(den, Math.abs(ref[i]));
        }
        return num / den;
    }
}
