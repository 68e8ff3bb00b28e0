package dev.jresnet.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Max pooling on the Vector API, bitwise {@link CpuOps#maxPool} but for NaN payloads (NaN where it has NaN; 512-bit
 * vectors were seen to return the canonical NaN). The reference scans a window row by row and keeps
 * {@code m = v > m || isNaN(v) ? v : m}: the first of equal maxima (so -0.0 before 0.0 gives -0.0) and the last NaN.
 * That rule is associative but not commutative, so the window may be split, as long as the scan order is kept:
 * first each input row's horizontal windows (rows[ih][oq]), then the window's rows in order, a vector of outputs
 * at a time. Any window runs here; the horizontal pass is vectorised for ResNet's stem pool (3x3, stride 2, pad 1) and
 * scalar otherwise. On blocked planes, L channels are a vector and a window is scanned cell by cell; a whole window
 * that holds no NaN takes the cheaper rule "v wins if greater", the same result there.
 */
final class VectorMaxPool implements MaxPool2d.Kernel {
    /**
     * The GEMM's species, never another: a second vector shape in the JVM pollutes the type profiles of the Vector
     * API's shared code, and C2 then stops intrinsifying the GEMM (measured: 256-bit here next to the 512-bit GEMM
     * made every convolution 10-20x slower).
     */
    private static final VectorSpecies<Float> S = VectorGemm.S;
    private static final int L = S.length();
    // Even and odd lanes of two vectors side by side (indices >= L pick from the second).
    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(S, i -> 2 * i);
    private static final VectorShuffle<Float> ODD = VectorShuffle.fromOp(S, i -> 2 * i + 1);

    @Override
    public boolean handles(int kernel, int stride, int padding, int w) {
        return true;
    }

    @Override
    public void plane(float[] x, int src, int h, int w, float[] y, int dst, int p, int q, int kernel, int stride,
                      int padding, float[] rows) {
        int h0 = Math.max(0, -padding), h1 = Math.min(h, (p - 1) * stride - padding + kernel);
        for (int ih = h0; ih < h1; ih++) {
            if (kernel == 3 && stride == 2 && padding == 1) {
                rowStride2(x, src + ih * w, w, rows, ih * q, q);
            } else {
                rowScalar(x, src + ih * w, w, rows, ih * q, 0, q, kernel, stride, padding);
            }
        }
        for (int op = 0; op < p; op++) {
            int r0 = Math.max(0, op * stride - padding), r1 = Math.min(h, op * stride - padding + kernel);
            int out = dst + op * q;
            int j = 0;
            for (; j <= q - L; j += L) {
                FloatVector m = FloatVector.fromArray(S, rows, r0 * q + j);
                for (int r = r0 + 1; r < r1; r++) {
                    m = max(m, FloatVector.fromArray(S, rows, r * q + j));
                }
                m.intoArray(y, out + j);
            }
            for (; j < q; j++) {
                float m = rows[r0 * q + j];
                for (int r = r0 + 1; r < r1; r++) {
                    m = max(m, rows[r * q + j]);
                }
                y[out + j] = m;
            }
        }
    }

    @Override
    public void blockedRow(float[] x, int src, int h, int w, float[] y, int dst, int oh, int q, int kernel,
                           int stride, int padding) {
        int r0 = Math.max(0, oh * stride - padding), r1 = Math.min(h, oh * stride - padding + kernel);
        int out = dst + ((oh + 1) * (q + 2) + 1) * L, row = (w + 2) * L;
        int[] cells = window(w, kernel).offsets;
        for (int ow = 0; ow < q; ow++, out += L) {
            int c0 = Math.max(0, ow * stride - padding), c1 = Math.min(w, ow * stride - padding + kernel);
            int first = src + ((r0 + 1) * (w + 2) + c0 + 1) * L;
            // Each branch stores its own vector: with one vector merged from both branches (one returned by a call)
            // the bench's lab ran the pool at 21.9 ms a pass rather than 0.30 (batch 1), a loop of the pool alone
            // at full speed; as here, 0.38 ms in the lab.
            if (r1 - r0 != kernel || c1 - c0 != kernel) {
                scan(x, first, r1 - r0, c1 - c0, row, y, out);
                continue;
            }
            // A whole window, its cells in scan order from a table. The rule on values that are not NaN is "v wins
            // if greater": a compare and a blend; a sum of the window finds a NaN (or inf - inf) and then the
            // window is scanned again by the whole rule. 1.19x faster than the whole rule on every cell at batch 8,
            // 1.08x at batch 1 (the stem's pool alone; the rule ORs two masks a cell).
            FloatVector m = FloatVector.fromArray(S, x, first);
            FloatVector sum = m;
            for (int j = 1; j < cells.length; j++) {
                FloatVector v = FloatVector.fromArray(S, x, first + cells[j]);
                m = m.blend(v, v.compare(VectorOperators.GT, m));
                sum = sum.add(v);
            }
            m.intoArray(y, out);
            if (sum.test(VectorOperators.IS_NAN).anyTrue()) {
                scan(x, first, kernel, kernel, row, y, out);
            }
        }
    }

    /** Where each cell (i, j) of a kernel x kernel window lies from its first, in a blocked plane w pixels wide. */
    private record Window(int w, int kernel, int[] offsets) {}

    private volatile Window window;

    private Window window(int w, int kernel) {
        Window t = window;
        if (t == null || t.w != w || t.kernel != kernel) {
            int[] offsets = new int[kernel * kernel];
            for (int i = 0; i < offsets.length; i++) {
                offsets[i] = (i / kernel * (w + 2) + i % kernel) * L;
            }
            t = new Window(w, kernel, offsets);
            window = t;
        }
        return t;
    }

    /** y[out..] = a window of rows x cols cells from {@code first}, by the reference's rule in its scan order. */
    private static void scan(float[] x, int first, int rows, int cols, int row, float[] y, int out) {
        // One flat loop over the window in scan order: a vector carried through nested loops was boxed by C2
        // after a recompilation (measured: the stem's pool went from 1.3 to 4.6-5.8 ms a pass). Its column
        // and row are counted, not divided out of j: 1.4x faster (two integer divisions per value before).
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);  // the reference's start
        for (int j = 0, cells = rows * cols, col = 0, at = first; j < cells; j++) {
            m = max(m, FloatVector.fromArray(S, x, at + col * L));
            if (++col == cols) {
                col = 0;
                at += row;
            }
        }
        m.intoArray(y, out);
    }

    /** The reference's rule, m then v in scan order: v wins if greater or NaN. */
    private static FloatVector max(FloatVector m, FloatVector v) {
        VectorMask<Float> take = v.compare(VectorOperators.GT, m).or(v.test(VectorOperators.IS_NAN));
        return m.blend(v, take);
    }

    private static float max(float m, float v) {
        return v > m || Float.isNaN(v) ? v : m;
    }

    /**
     * The 3-wide stride-2 pad-1 windows of one row: out[oq] = max(x[2oq-1], x[2oq], x[2oq+1]), the edges scalar.
     * A block of L outputs from oq = j reads x[2j-2, 2j+16): odd lanes of the first two vectors give x[2oq-1],
     * even and odd lanes of the next two x[2oq] and x[2oq+1].
     */
    private static void rowStride2(float[] x, int row, int w, float[] out, int dst, int q) {
        int last = (w - 2 * L) / 2;   // the last block start whose loads stay in the row
        int done = 0;
        if (last >= 1) {
            rowScalar(x, row, w, out, dst, 0, 1, 3, 2, 1);
            for (int j = 1; ; j += L) {
                int b = Math.min(j, last);  // the last block may overlap the one before: same values again
                FloatVector lo = FloatVector.fromArray(S, x, row + 2 * b - 2);
                FloatVector mid = FloatVector.fromArray(S, x, row + 2 * b - 2 + L);
                FloatVector c0 = FloatVector.fromArray(S, x, row + 2 * b);
                FloatVector c1 = FloatVector.fromArray(S, x, row + 2 * b + L);
                FloatVector left = lo.rearrange(ODD, mid);
                FloatVector centre = c0.rearrange(EVEN, c1);
                FloatVector right = c0.rearrange(ODD, c1);
                max(max(left, centre), right).intoArray(out, dst + b);
                done = b + L;
                if (b == last) {
                    break;
                }
            }
        }
        rowScalar(x, row, w, out, dst, done, q, 3, 2, 1);
    }

    /** out[oq] for oq in [from, to): each window's columns in order. */
    private static void rowScalar(float[] x, int row, int w, float[] out, int dst, int from, int to, int kernel,
                                  int stride, int padding) {
        for (int oq = from; oq < to; oq++) {
            int w0 = Math.max(0, oq * stride - padding), w1 = Math.min(w, oq * stride - padding + kernel);
            float m = Float.NEGATIVE_INFINITY;
            for (int iw = w0; iw < w1; iw++) {
                m = max(m, x[row + iw]);
            }
            out[dst + oq] = m;
        }
    }
}
