package dev.jresnet.cpu;

import java.util.Arrays;

/**
 * Convolution as GEMM. Per image, with CRS = C*R*S and PQ = P*Q:
 * <pre>
 *   out[K, PQ] = W[K, CRS] · cols[CRS, PQ]      (W is the weight tensor [K,C,R,S] read as a matrix)
 *   cols[(c*R + r)*S + s, p*Q + q] = in[c, p*stride - pad + r, q*stride - pad + s]   (0 outside)
 * </pre>
 * cols is the "im2col" matrix. For a 1x1, stride-1, unpadded conv it is the input itself ([C, HW]),
 * so that case multiplies straight from the input tensor.
 *
 * <p>Work is split over threads by columns, i.e. output pixels: the columns of all images form one
 * sequence of N*PQ, cut into chunks. Chunks never straddle images when images are large (each chunk
 * then writes straight into the output), and may span several small images (layer4 has 49 pixels per
 * image, too few to fill vector-wide tiles or to keep two threads busy at batch 1); such chunks
 * compute into scratch and copy each image's columns out. The weights are packed once per call and
 * shared by every chunk.
 */
final class Conv2d {
    /** Columns per chunk: wide enough to amortise the kernel's per-block overheads, narrow enough to balance. */
    private static final int TARGET_COLUMNS = 1024;
    /** Caps a chunk's im2col buffer (CRS x columns floats) at 4 MiB per thread. */
    private static final int MAX_COLS_FLOATS = 1 << 20;

    private static final Scratch IM2COL = new Scratch();
    private static final Scratch PRODUCT = new Scratch();

    private Conv2d() {}

    /** Shapes were validated by {@link CpuOps#conv2d}. */
    static void run(GemmKernel kernel, float[] out, float[] in, float[] weight, float[] bias,
                    int n, int c, int h, int w, int k, int r, int s, int p, int q, int stride, int pad) {
        int crs = c * r * s;
        int pq = p * q;
        boolean direct = r == 1 && s == 1 && stride == 1 && pad == 0;
        GemmKernel.PackedMatrix packedWeight = kernel.pack(k, crs, weight, 0, crs);
        Geometry g = new Geometry(c, h, w, r, s, p, q, stride, pad);

        int maxChunk = Math.max(16, Math.min(TARGET_COLUMNS, MAX_COLS_FLOATS / crs / 16 * 16));
        ColumnChunks chunks = ColumnChunks.plan(n, pq, maxChunk, false);

        Parallel.forEach(chunks.items(), item -> {
            long first = chunks.first(item); // the chunk's first column in the batch-wide column sequence
            int width = chunks.width(item);
            int img = (int) (first / pq);
            int j0 = (int) (first % pq);
            boolean oneImage = j0 + width <= pq;

            float[] b;
            int bOff, ldb;
            if (direct && oneImage) {
                b = in;
                bOff = img * c * pq + j0;
                ldb = pq;
            } else {
                b = IM2COL.get(crs * width);
                bOff = 0;
                ldb = width;
                im2col(g, in, first, width, b);
            }

            if (oneImage) {
                int cOff = img * k * pq + j0;
                kernel.gemm(packedWeight, width, b, bOff, ldb, out, cOff, pq, false);
                addBias(bias, out, cOff, pq, k, width);
            } else {
                float[] product = PRODUCT.get(k * width);
                kernel.gemm(packedWeight, width, b, bOff, ldb, product, 0, width, false);
                addBias(bias, product, 0, width, k, width);
                scatter(product, width, first, out, k, pq);
            }
        });
    }

    /** The input geometry im2col needs. */
    record Geometry(int c, int h, int w, int r, int s, int p, int q, int stride, int pad) {}

    /**
     * Fills cols[CRS, width] (row-major, leading dimension width) with the im2col columns
     * first .. first+width-1 of the batch-wide column sequence (column j is pixel j % PQ of image j / PQ).
     */
    static void im2col(Geometry g, float[] in, long first, int width, float[] cols) {
        int pq = g.p * g.q;
        int done = 0;
        while (done < width) {
            long col = first + done;
            int img = (int) (col / pq);
            int j0 = (int) (col % pq);
            int len = Math.min(width - done, pq - j0);
            im2colImage(g, in, img * g.c * g.h * g.w, j0, len, cols, done, width);
            done += len;
        }
    }

    /** im2col of pixels j0 .. j0+len-1 of one image (input at inOff) into columns dst0.. of cols. */
    private static void im2colImage(Geometry g, float[] in, int inOff, int j0, int len, float[] cols, int dst0, int ld) {
        int row = 0;
        for (int ch = 0; ch < g.c; ch++) {
            for (int kr = 0; kr < g.r; kr++) {
                for (int ks = 0; ks < g.s; ks++, row++) {
                    // Output columns q whose input column q*stride - pad + ks lies inside [0, W).
                    int qFirst = g.pad - ks <= 0 ? 0 : Gemm.ceilDiv(g.pad - ks, g.stride);
                    int qEnd = Math.floorDiv(g.w - 1 + g.pad - ks, g.stride) + 1; // exclusive
                    int dst = row * ld + dst0;
                    int j = j0;
                    int end = j0 + len;
                    while (j < end) {
                        int op = j / g.q;
                        int qa = j % g.q;
                        int qb = Math.min(g.q, qa + (end - j)); // this output row's part of the chunk
                        int ih = op * g.stride - g.pad + kr;
                        if (ih < 0 || ih >= g.h) {
                            Arrays.fill(cols, dst, dst + (qb - qa), 0f);
                        } else {
                            int lo = Math.max(qa, Math.min(qb, qFirst));
                            int hi = Math.max(lo, Math.min(qb, qEnd));
                            Arrays.fill(cols, dst, dst + (lo - qa), 0f);
                            int src = inOff + (ch * g.h + ih) * g.w + lo * g.stride - g.pad + ks;
                            int d = dst + (lo - qa);
                            if (g.stride == 1) {
                                System.arraycopy(in, src, cols, d, hi - lo);
                            } else {
                                for (int t = 0; t < hi - lo; t++) {
                                    cols[d + t] = in[src + t * g.stride];
                                }
                            }
                            Arrays.fill(cols, dst + (hi - qa), dst + (qb - qa), 0f);
                        }
                        dst += qb - qa;
                        j += qb - qa;
                    }
                }
            }
        }
    }

    /** Copies product[K, width] (columns first.. of the batch) to out[N, K, PQ], image by image. */
    private static void scatter(float[] product, int width, long first, float[] out, int k, int pq) {
        int done = 0;
        while (done < width) {
            long col = first + done;
            int img = (int) (col / pq);
            int j0 = (int) (col % pq);
            int len = Math.min(width - done, pq - j0);
            for (int row = 0; row < k; row++) {
                System.arraycopy(product, row * width + done, out, (img * k + row) * pq + j0, len);
            }
            done += len;
        }
    }

    private static void addBias(float[] bias, float[] x, int off, int ld, int k, int width) {
        if (bias == null) {
            return;
        }
        for (int row = 0; row < k; row++) {
            float b = bias[row];
            int base = off + row * ld;
            for (int j = 0; j < width; j++) {
                x[base + j] += b;
            }
        }
    }
}
