package dev.jresnet.cuda;

import dev.jresnet.nn.Step;
import dev.jresnet.tensor.Half;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import org.bytedeco.javacpp.FloatPointer;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.cuda.global.cublas.*;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudnn.*;

/**
 * The GPU twins of {@code dev.jresnet.cpu.CpuOps}: the same ops under the same names, outputs first, kernel, stride
 * and padding in the same order, in the same order in the file, on {@link GpuTensor}s; {@code GpuGrads} is the twin
 * of {@code CpuGrads}. Everything is queued on this object's own stream, with a cuDNN and a cuBLAS handle bound to
 * it; nothing synchronises except a workspace that has to grow. The inference engine, the trainer and the tests all
 * run these same calls.
 *
 * <p>Convolutions are planned once per shape ({@link #plan}: descriptors and algorithms from the shared
 * {@link ConvAlgorithms}); a context that captures CUDA graphs plans every shape first and then
 * {@link #reserve reserves} the workspace and the classifier's ones vector, so that no call under capture allocates.
 * Precision: {@link CudaPrecision#of}; FP32 is exact (FMA math, pedantic cuBLAS). One object per thread.
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class GpuOps implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GpuOps.class.getName());
    /** cuBLAS workspace (NVIDIA recommends 32 MiB on Hopper); also what makes cuBLAS graph-capturable. */
    static final long CUBLAS_WORKSPACE = 32L << 20;

    private final CudaContext context;
    private final CudaPrecision precision;
    private final Kernels kernels;
    private final TrainKernels trainKernels;
    private final ConvAlgorithms algorithms;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final Stream stream;
    private final CudnnHandle cudnn;
    private final CublasHandle cublas;
    private final FloatPointer one, zero;
    private final ActivationDescriptor relu, fusedRelu;
    private final Workspace workspace;
    private final Map<ConvAlgorithms.Key, ConvPlan> convs = new HashMap<>();
    private final Map<List<Integer>, PoolingDescriptor> pools = new HashMap<>();
    private DeviceMemory ones;
    private long workspaceNeeded;

    /**
     * Takes {@code kernels} (loaded for {@code context}; may be null when only the cuDNN and cuBLAS ops are used) and
     * {@code algorithms} without owning them.
     */
    public GpuOps(CudaContext context, Kernels kernels, Precision precision, ConvAlgorithms algorithms) {
        this.context = context;
        this.precision = CudaPrecision.of(precision);
        this.kernels = kernels;
        this.trainKernels = kernels == null ? null : new TrainKernels(kernels);
        this.algorithms = algorithms;
        try {
            context.makeCurrent();
            stream = own(Stream.create());
            cudnn = own(CudnnHandle.create(stream));
            cublas = own(CublasHandle.create(stream));
            cublas.setMathMode(this.precision.cublasMath());
            DeviceMemory cublasWs = own(DeviceMemory.allocate(CUBLAS_WORKSPACE, "cuBLAS workspace"));
            cublas.setWorkspace(cublasWs.buffer());
            one = own(new FloatPointer(1).put(1f));
            zero = own(new FloatPointer(1).put(0f));
            relu = own(ActivationDescriptor.relu());
            fusedRelu = own(ActivationDescriptor.fusedRelu());
            workspace = own(new Workspace(stream, "convolutions (" + precision.id() + ")"));
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    private <T extends AutoCloseable> T own(T r) {
        owned.push(r);
        return r;
    }

    // ---------------------------------------------------------------- the ops (CpuOps's order)

    /** out[N,K,P,Q] = conv(in[N,C,H,W], weight[K,C/groups,R,S]) + bias[K] (bias may be null). */
    public void conv2d(GpuTensor out, GpuTensor in, GpuTensor weight, GpuTensor bias, int stride, int padding,
                       int groups) {
        ConvPlan p = plan(out, in, weight, stride, padding, groups);
        convolution(p, out, in, weight);
        if (bias != null) {
            addBias(p, out, bias);
        }
    }

    /**
     * out = relu(conv(in, weight) + bias [+ residual]) as one {@code cudnnConvolutionBiasActivationForward}
     * (alpha1 = 1; alpha2 = 1 with a residual z, else 0 with z = out). If cuDNN rejects the fused call for this
     * shape (BAD_PARAM or NOT_SUPPORTED), the shape falls back for good to convolution, cudnnAddTensor (bias, then
     * z) and cudnnActivationForward, with a warning; {@link ConvPlan#fused()} says which. The first call of a shape
     * must not be under graph capture, so the fallback is decided eagerly.
     */
    public void conv2dBiasRelu(GpuTensor out, GpuTensor in, GpuTensor weight, GpuTensor bias, GpuTensor residual,
                               int stride, int padding, int groups) {
        if (bias == null) {
            throw new IllegalArgumentException("conv2dBiasRelu: bias must not be null");
        }
        ConvPlan p = plan(out, in, weight, stride, padding, groups);
        bias.require("conv2dBiasRelu bias", p.key.k());
        if (residual != null) {
            residual.requireSameShape("conv2dBiasRelu residual", out);
        }
        if (p.fused) {
            DeviceBuffer ws = workspace.ensure(p.forward.workspaceBytes());
            int status = cudnnConvolutionBiasActivationForward(cudnn.handle(), one, in.descriptor().handle(),
                    in.buffer().pointer(), weight.filterDescriptor().handle(), weight.buffer().pointer(),
                    p.descriptor(ConvAlgorithms.Direction.FORWARD).handle(), p.forward.algo(), ws.pointer(),
                    p.forward.workspaceBytes(), residual != null ? one : zero, out.descriptor().handle(),
                    residual != null ? residual.buffer().pointer() : out.buffer().pointer(),
                    bias.descriptor().handle(), bias.buffer().pointer(), fusedRelu.handle(), out.descriptor().handle(),
                    out.buffer().pointer());
            if (status == CUDNN_STATUS_SUCCESS) {
                return;
            }
            if (!isUnsupported(status)) {
                Cudnn.check(status, "cudnnConvolutionBiasActivationForward", p.describe(residual != null));
            }
            p.fused = false;
            synchronized (p) {
                p.fallbackReason = Cudnn.errorString(status);
            }
            LOG.log(System.Logger.Level.WARNING, "cudnnConvolutionBiasActivationForward: " + Cudnn.errorString(status)
                    + " for " + p.describe(residual != null) + "; using convolution + add + ReLU for this shape");
        }
        convolution(p, out, in, weight);
        addBias(p, out, bias);
        if (residual != null) {
            Cudnn.check(cudnnAddTensor(cudnn.handle(), one, out.descriptor().handle(), residual.buffer().pointer(), one,
                    out.descriptor().handle(), out.buffer().pointer()), "cudnnAddTensor", "residual", p.key);
        }
        relu(out, out);
    }

    /** Inference batch norm per channel of in [N,C,H,W] (fp32 NCHW), optionally with ReLU; out may be in. */
    public void batchNorm(GpuTensor out, GpuTensor in, GpuTensor gamma, GpuTensor beta, GpuTensor mean, GpuTensor var,
                          float eps, boolean relu) {
        requireF32("batchNorm input", in);
        out.requireSameShape("batchNorm output", in);
        int n = in.dim(0), c = in.dim(1), hw = (int) (in.elements() / ((long) n * c));
        trainKernels().bnEvalForward(stream, in.buffer(), out.buffer(), gamma.buffer(), beta.buffer(), mean.buffer(),
                var.buffer(), eps, n, c, hw, relu);
    }

    /** out = max(in, 0); out may be in. */
    public void relu(GpuTensor out, GpuTensor in) {
        out.requireSameShape("relu output", in);
        Cudnn.check(cudnnActivationForward(cudnn.handle(), relu.handle(), one, in.descriptor().handle(),
                in.buffer().pointer(), zero, out.descriptor().handle(), out.buffer().pointer()),
                "cudnnActivationForward", "ReLU", in.descriptor().shape());
    }

    /** Max pooling of in[N,C,H,W] with a square window (cuDNN), P = (H + 2*pad - kernel) / stride + 1. */
    public void maxPool(GpuTensor out, GpuTensor in, int kernel, int stride, int padding) {
        out.require("maxPool output", in.dim(0), in.dim(1), Step.outSize(in.dim(2), kernel, stride, padding),
                Step.outSize(in.dim(3), kernel, stride, padding));
        Cudnn.check(cudnnPoolingForward(cudnn.handle(), pooling(CUDNN_POOLING_MAX, kernel, stride, padding).handle(), one,
                in.descriptor().handle(), in.buffer().pointer(), zero, out.descriptor().handle(),
                out.buffer().pointer()), "cudnnPoolingForward", in.descriptor().shape(), out.descriptor().shape());
    }

    /** out[N,C] (fp32) = mean over H,W of in[N,C,H,W] (fp32 NCHW or fp16 NHWC; pool.cu). */
    public void globalAvgPool(GpuTensor out, GpuTensor in) {
        int n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
        requireF32("globalAvgPool output", out.require("globalAvgPool output", n, c));
        if (in.element() == ElementType.FP16) {
            kernels().globalAvgPoolNhwcF16(stream, in.buffer(), out.buffer(), n, c, h, w);
        } else {
            kernels().globalAvgPoolNchwF32(stream, in.buffer(), out.buffer(), n, c, h, w);
        }
    }

    /**
     * out[N,O] = in[N,I] · weight[O,I]ᵀ + bias[O], fp32, the one cuBLAS GEMM of inference and training: in
     * column-major terms outᵀ (O x N) = bias · onesᵀ (a rank-1 GEMM, pedantic, exact), then += (weight as stored, op
     * T) · inᵀ with the precision's compute type.
     */
    public void linear(GpuTensor out, GpuTensor in, GpuTensor weight, GpuTensor bias) {
        int n = in.dim(0), i = in.dim(1), o = weight.dim(0);
        weight.require("linear weight", o, i);
        bias.require("linear bias", o);
        out.require("linear output", n, o);
        String shape = "in [" + n + ", " + i + "], weight [" + o + ", " + i + "]";
        Cublas.check(cublasGemmEx(cublas.handle(), CUBLAS_OP_N, CUBLAS_OP_N, o, n, 1, one, bias.buffer().pointer(),
                CUDA_R_32F, o, ones(n).pointer(), CUDA_R_32F, 1, zero, out.buffer().pointer(), CUDA_R_32F, o,
                CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_GEMM_DEFAULT), "cublasGemmEx", "linear bias broadcast", shape);
        Cublas.check(cublasGemmEx(cublas.handle(), CUBLAS_OP_T, CUBLAS_OP_N, o, n, i, one, weight.buffer().pointer(),
                CUDA_R_32F, i, in.buffer().pointer(), CUDA_R_32F, i, one, out.buffer().pointer(), CUDA_R_32F, o,
                precision.cublasCompute(), CUBLAS_GEMM_DEFAULT), "cublasGemmEx", "linear", shape, precision.precision());
    }

    /** out = a + b, optionally followed by ReLU (fp32); out may be a or b. */
    public void add(GpuTensor out, GpuTensor a, GpuTensor b, boolean relu) {
        b.requireSameShape("add operand b", a);
        out.requireSameShape("add output", a);
        requireF32("add", a);
        long count = a.elements();
        if (relu) {
            trainKernels().addRelu(stream, a.buffer(), b.buffer(), out.buffer(), count);
        } else if (out.sameMemory(a)) {
            trainKernels().addInPlace(stream, out.buffer(), b.buffer(), count);
        } else if (out.sameMemory(b)) {
            trainKernels().addInPlace(stream, out.buffer(), a.buffer(), count);
        } else {
            out.buffer().copyFrom(stream, a.buffer());
            trainKernels().addInPlace(stream, out.buffer(), b.buffer(), count);
        }
    }

    /** Row-wise softmax of in[N,K] into out[N,K] (fp32; softmax.cu); out may be in. */
    public void softmax(GpuTensor out, GpuTensor in) {
        out.requireSameShape("softmax output", in);
        kernels().softmaxRowsF32(stream, in.buffer(), out.buffer(), in.dim(0), in.dim(1));
    }

    // ---------------------------------------------------------------- convolution plans

    /**
     * One convolution shape ready to run: its descriptors per direction (each with its algorithm's math type) and
     * its algorithms, the forward one chosen when planned, the backward ones on first use (a forward-only run never
     * asks for them).
     */
    public final class ConvPlan {
        final ConvAlgorithms.Key key;
        final ConvAlgorithms.Choice forward;
        private final ConvolutionDescriptor[] descriptors = new ConvolutionDescriptor[3];
        private final ConvAlgorithms.Choice[] choices = new ConvAlgorithms.Choice[3];
        boolean fused = true;
        private String fallbackReason;

        private ConvPlan(ConvAlgorithms.Key key, GpuTensor x, GpuTensor w, GpuTensor y) {
            this.key = key;
            this.forward = choose(ConvAlgorithms.Direction.FORWARD, x, w, y);
        }

        /** Whether cuDNN accepted the fused bias-activation call (so far) for this shape. */
        public boolean fused() {
            return fused;
        }

        /** The cuDNN status that made this shape fall back from the fused call, or null while it is fused. */
        public synchronized String fallbackReason() {
            return fallbackReason;
        }

        public ConvAlgorithms.Key key() {
            return key;
        }

        /**
         * The algorithm of {@code d}, chosen on its first use with these tensors (input x, weight w, output y of the
         * forward convolution; the exhaustive forward search runs on them and overwrites y).
         */
        public synchronized ConvAlgorithms.Choice choose(ConvAlgorithms.Direction d, GpuTensor x, GpuTensor w,
                                                         GpuTensor y) {
            int i = d.ordinal();
            if (choices[i] == null) {
                ConvolutionDescriptor query = newDescriptor(precision.convMath());
                try {
                    ConvAlgorithms.FindBuffers find = d == ConvAlgorithms.Direction.FORWARD
                            && algorithms.search() == ConvAlgorithms.Search.EXHAUSTIVE
                            ? new ConvAlgorithms.FindBuffers(x.buffer(), w.buffer(), y.buffer(),
                            workspace.ensure(algorithms.workspaceLimit())) : null;
                    ConvAlgorithms.Choice c = algorithms.choose(d, key, cudnn, x.descriptor(), w.filterDescriptor(),
                            query, y.descriptor(), find);
                    if (c.mathType() == query.mathType().cudnnValue()) {
                        descriptors[i] = query;
                        query = null;
                    } else {
                        descriptors[i] = newDescriptor(ConvolutionDescriptor.MathType.of(c.mathType()));
                    }
                    choices[i] = c;
                    workspaceNeeded = Math.max(workspaceNeeded, c.workspaceBytes());
                } finally {
                    if (query != null) {
                        query.close();
                    }
                }
            }
            return choices[i];
        }

        /** The convolution descriptor of {@code d} (with its algorithm's math type); {@code d} must be chosen. */
        public synchronized ConvolutionDescriptor descriptor(ConvAlgorithms.Direction d) {
            ConvolutionDescriptor c = descriptors[d.ordinal()];
            if (c == null) {
                throw new IllegalStateException(d + " of " + key + " has no algorithm yet");
            }
            return c;
        }

        /** A buffer of the workspace {@code d}'s chosen algorithm needs. */
        public DeviceBuffer workspace(ConvAlgorithms.Direction d) {
            ConvAlgorithms.Choice c = choices[d.ordinal()];
            return GpuOps.this.workspace.ensure(c == null ? 0 : c.workspaceBytes());
        }

        private ConvolutionDescriptor newDescriptor(ConvolutionDescriptor.MathType math) {
            return ConvolutionDescriptor.create(key.pad(), key.pad(), key.stride(), key.stride(), 1, 1, ElementType.FP32,
                    math, key.groups());
        }

        String describe(boolean residual) {
            return key + ", algo " + forward.algo() + " (" + forward.how() + "), workspace " + forward.workspaceBytes()
                    + (residual ? ", with residual" : "");
        }

        void close() {
            for (ConvolutionDescriptor d : descriptors) {
                if (d != null) {
                    d.close();
                }
            }
        }
    }

    /**
     * The plan of the convolution out = conv(in, weight) with this stride, padding and groups: made (descriptors,
     * forward algorithm) on the first call for this shape, cached after. Checks the shapes against cuDNN's.
     */
    public synchronized ConvPlan plan(GpuTensor out, GpuTensor in, GpuTensor weight, int stride, int pad, int groups) {
        if (in.rank() != 4 || weight.rank() != 4 || in.dim(1) != weight.dim(1) * groups
                || weight.dim(0) % groups != 0) {
            throw new IllegalArgumentException("conv2d: input " + Arrays.toString(in.dims()) + " and weight "
                    + Arrays.toString(weight.dims()) + " do not fit with " + groups + " groups ([N,C,H,W] and "
                    + "[K,C/groups,R,S])");
        }
        ConvAlgorithms.Key key = new ConvAlgorithms.Key(precision.precision(), in.dim(0), in.dim(1), in.dim(2),
                in.dim(3), weight.dim(0), weight.dim(2), weight.dim(3), stride, pad, groups);
        out.require("conv2d output", key.n(), key.k(), key.p(), key.q());
        ConvPlan p = convs.get(key);
        if (p == null) {
            p = new ConvPlan(key, in, weight, out);
            convs.put(key, p);
        }
        return p;
    }

    /** Sizes the workspace for every plan made so far and the classifier for batches up to {@code maxBatch}. */
    public synchronized void reserve(int maxBatch) {
        workspace.ensure(workspaceNeeded);
        ones(maxBatch);
    }

    /** Bytes of convolution workspace held. */
    public long workspaceBytes() {
        return workspace.bytes();
    }

    private void convolution(ConvPlan p, GpuTensor out, GpuTensor in, GpuTensor weight) {
        DeviceBuffer ws = workspace.ensure(p.forward.workspaceBytes());
        Cudnn.check(cudnnConvolutionForward(cudnn.handle(), one, in.descriptor().handle(), in.buffer().pointer(),
                weight.filterDescriptor().handle(), weight.buffer().pointer(),
                p.descriptor(ConvAlgorithms.Direction.FORWARD).handle(), p.forward.algo(), ws.pointer(),
                p.forward.workspaceBytes(), zero, out.descriptor().handle(), out.buffer().pointer()),
                "cudnnConvolutionForward", p.describe(false));
    }

    private void addBias(ConvPlan p, GpuTensor out, GpuTensor bias) {
        Cudnn.check(cudnnAddTensor(cudnn.handle(), one, bias.descriptor().handle(), bias.buffer().pointer(), one,
                out.descriptor().handle(), out.buffer().pointer()), "cudnnAddTensor", "bias", p.key);
    }

    /** cuDNN 9's BAD_PARAM (2000..2999) and NOT_SUPPORTED (3000..3999) families. */
    public static boolean isUnsupported(int status) {
        return status >= CUDNN_STATUS_BAD_PARAM && status < CUDNN_STATUS_NOT_SUPPORTED + 1000;
    }

    // ---------------------------------------------------------------- shared state for GpuGrads and the engine

    /** A cached square pooling descriptor of {@code mode} ({@code CUDNN_POOLING_*}). */
    public synchronized PoolingDescriptor pooling(int mode, int kernel, int stride, int pad) {
        return pools.computeIfAbsent(List.of(mode, kernel, stride, pad),
                k -> PoolingDescriptor.create(mode, kernel, kernel, pad, pad, stride, stride));
    }

    private DeviceBuffer ones(int n) {
        if (ones == null || ones.bytes() < 4L * n) {
            if (ones != null) {
                stream.synchronize();
                ones.close();
            }
            ones = DeviceMemory.allocate(4L * n, "ones for the bias broadcast");
            float[] v = new float[n];
            Arrays.fill(v, 1f);
            ones.buffer().upload(stream, v);
        }
        return ones.buffer();
    }

    private static void requireF32(String what, GpuTensor t) {
        if (t.element() != ElementType.FP32 || t.layout() != Layout.NCHW && t.rank() == 4) {
            throw new IllegalArgumentException(what + ": only fp32 NCHW is supported, found " + t);
        }
    }

    public Stream stream() {
        return stream;
    }

    public CudnnHandle cudnn() {
        return cudnn;
    }

    public CublasHandle cublas() {
        return cublas;
    }

    public CudaPrecision precision() {
        return precision;
    }

    public Kernels kernels() {
        if (kernels == null) {
            throw new IllegalStateException("these GPU ops were made without the native kernels");
        }
        return kernels;
    }

    public TrainKernels trainKernels() {
        kernels();
        return trainKernels;
    }

    // ---------------------------------------------------------------- host copies (tests, the trainer's inputs)

    /**
     * A new device tensor holding {@code t}: a rank-4 NCHW fp32 host tensor in this precision's layout and element
     * type (fp16 rounded to nearest even), anything else as fp32. Waits for the copy.
     */
    public GpuTensor upload(Tensor t, String purpose) {
        boolean map = t.rank() == 4;
        ElementType e = map ? precision.element() : ElementType.FP32;
        Layout l = map ? precision.layout() : Layout.NCHW;
        GpuTensor g = GpuTensor.allocate(purpose, e, l, t.shape().dims());
        try {
            upload(g, t);
            return g;
        } catch (RuntimeException ex) {
            g.close();
            throw ex;
        }
    }

    /** Copies host {@code src} (NCHW fp32, same dims) into {@code dst}, converting to its layout and type; waits. */
    public void upload(GpuTensor dst, Tensor src) {
        dst.require("upload destination", src.shape().dims());
        if (dst.element() == ElementType.FP16) {
            int[] d = dst.rank() == 4 ? dst.dims() : new int[] {1, (int) dst.elements(), 1, 1};
            dst.buffer().upload(stream, dst.layout() == Layout.NHWC ? HalfLayouts.nchwToNhwcHalf(src.data(), d[0], d[1], d[2], d[3])
                    : HalfLayouts.toHalf(src.data()));
        } else {
            dst.buffer().upload(stream, src.data());
        }
    }

    /** A host copy of {@code t} as NCHW fp32 (fp16 widened exactly); waits for the stream. */
    public Tensor download(GpuTensor t) {
        Tensor out = Tensor.zeros(t.dims());
        download(t, out);
        return out;
    }

    /** Copies {@code src} into host {@code dst} (same dims) as NCHW fp32; waits for the stream. */
    public void download(GpuTensor src, Tensor dst) {
        src.require("download source", dst.shape().dims());
        if (src.element() == ElementType.FP16) {
            short[] half = new short[dst.size()];
            src.buffer().download(stream, half);
            int[] d = src.rank() == 4 ? src.dims() : new int[] {1, dst.size(), 1, 1};
            if (src.layout() == Layout.NHWC) {
                HalfLayouts.nhwcHalfToNchw(half, dst.data(), d[0], d[1], d[2], d[3]);
            } else {
                for (int i = 0; i < half.length; i++) {
                    dst.data()[i] = Half.f16ToFloat(half[i]);
                }
            }
        } else {
            src.buffer().download(stream, dst.data());
        }
    }

    public CudaContext context() {
        return context;
    }

    public ConvAlgorithms algorithms() {
        return algorithms;
    }

    /** Host scalars 1 and 0 for cuDNN's alpha and beta. */
    public FloatPointer one() {
        return one;
    }

    public FloatPointer zero() {
        return zero;
    }

    /** Waits for everything queued so far. */
    public void synchronize() {
        stream.synchronize();
    }

    @Override
    public synchronized void close() {
        try {
            if (stream != null && !stream.isClosed()) {
                stream.synchronize();
            }
        } catch (RuntimeException e) {
            // closing after a failure: still free what we can
        }
        for (ConvPlan p : convs.values()) {
            p.close();
        }
        convs.clear();
        for (PoolingDescriptor p : pools.values()) {
            p.close();
        }
        pools.clear();
        if (ones != null) {
            ones.close();
            ones = null;
        }
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                // best effort
            }
        }
    }
}
