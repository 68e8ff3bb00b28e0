package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;

/**
 * The fast path's max pooling: bitwise {@link CpuOps#maxPool} (same window scan, so the same -0.0 or 0.0 and NaN
 * wherever it has NaN, though a NaN's payload may differ: the Vector API does not keep it), with
 * the Vector API when the GEMM kernel is the vector one. {@code VectorMaxPool} is loaded by name, as
 * {@link FusedConv} loads {@code VectorConv}, so a JVM without jdk.incubator.vector never links it.
 */
public final class MaxPool2d {
    private MaxPool2d() {}

    /** One plane's pooling, for the vector class to implement. */
    interface Kernel {
        /** Whether it handles this window (else the scalar reference runs). */
        boolean handles(int kernel, int stride, int padding, int w);

        /** out[P,Q] of one plane in[H,W] at the given offsets; {@code scratch} holds at least H * Q floats. */
        void plane(float[] x, int src, int h, int w, float[] y, int dst, int p, int q, int kernel, int stride,
                   int padding, float[] scratch);

        /**
         * Output row oh of one blocked plane ({@link Blocked}: in [H+2, W+2, L] at src, out [P+2, Q+2, L] at dst,
         * L the vector's floats), each window scanned as the reference scans it, L channels at a time.
         */
        void blockedRow(float[] x, int src, int h, int w, float[] y, int dst, int oh, int q, int kernel, int stride,
                        int padding);
    }

    private static final class Active {
        static final Kernel KERNEL = load();
    }

    private static final Scratch ROWS = new Scratch();

    private static Kernel load() {
        if (!Gemm.kernelName().startsWith("vector")) {
            return null;
        }
        try {
            return (Kernel) Class.forName("dev.jresnet.cpu.VectorMaxPool").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot load the Vector API max-pool", e);
        }
    }

    /** Whether the vector code runs (for tests). */
    public static boolean vectorised() {
        return Active.KERNEL != null;
    }

    /** As {@link CpuOps#maxPool}, bit for bit but for NaN payloads. */
    public static void forward(Tensor out, Tensor in, int kernel, int stride, int padding) {
        forward(Active.KERNEL, out, in, kernel, stride, padding);
    }

    /**
     * As {@link #forward}, on {@link Blocked} tensors: in [N, C/L, H+2, W+2, L], out [N, C/L, P+2, Q+2, L] (its
     * interior written, its border left zero). Needs the Vector API: L is its vector's floats.
     */
    public static void forwardBlocked(Tensor out, Tensor in, int kernel, int stride, int padding) {
        Kernel k = Active.KERNEL;
        if (k == null || !Blocked.is(in)) {
            throw new IllegalArgumentException("blocked max pool: needs the Vector API and a blocked input, found "
                    + in.shape());
        }
        int n = in.dim(0), blocks = in.dim(1), h = in.dim(2) - 2, w = in.dim(3) - 2, l = in.dim(4);
        if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel || h + 2 * padding < kernel
                || w + 2 * padding < kernel) {
            throw new IllegalArgumentException("blocked max pool: kernel " + kernel + ", stride " + stride + ", padding "
                    + padding + " on " + Blocked.logical(in));
        }
        int p = (h + 2 * padding - kernel) / stride + 1, q = (w + 2 * padding - kernel) / stride + 1;
        out.require("blocked max pool output", n, blocks, p + 2, q + 2, l);
        float[] x = in.data(), y = out.data();
        int inPlane = (h + 2) * (w + 2) * l, outPlane = (p + 2) * (q + 2) * l;
        Parallel.forRanges(n * blocks * p, 4, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                int plane = i / p;
                k.blockedRow(x, plane * inPlane, h, w, y, plane * outPlane, i % p, q, kernel, stride, padding);
            }
        });
    }

    static void forward(Kernel k, Tensor out, Tensor in, int kernel, int stride, int padding) {
        int w = in.rank() == 4 ? in.dim(3) : 0;
        if (k == null || !k.handles(kernel, stride, padding, w)) {
            CpuOps.maxPool(out, in, kernel, stride, padding);
            return;
        }
        CpuOps.requireMaxPool(out, in, kernel, stride, padding);
        int n = in.dim(0), c = in.dim(1), h = in.dim(2);
        int p = (h + 2 * padding - kernel) / stride + 1, q = (w + 2 * padding - kernel) / stride + 1;
        float[] x = in.data(), y = out.data();
        // Planes as tasks in ranges: [1, 64, 112, 112] is 64 planes of ~12 us each.
        Parallel.forRanges(n * c, 4, (lo, hi) -> {
            float[] rows = ROWS.get(h * q);
            for (int plane = lo; plane < hi; plane++) {
                k.plane(x, plane * h * w, h, w, y, plane * p * q, p, q, kernel, stride, padding, rows);
            }
        });
    }
}
