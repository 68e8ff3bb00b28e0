package dev.jresnet.cuda.train;

import dev.jresnet.cuda.ActivationDescriptor;
import dev.jresnet.cuda.ConvolutionDescriptor;
import dev.jresnet.cuda.Cublas;
import dev.jresnet.cuda.CublasHandle;
import dev.jresnet.cuda.CudaContext;
import dev.jresnet.cuda.CudaException;
import dev.jresnet.cuda.Cudnn;
import dev.jresnet.cuda.CudnnHandle;
import dev.jresnet.cuda.DeviceBuffer;
import dev.jresnet.cuda.DeviceMemory;
import dev.jresnet.cuda.FilterDescriptor;
import dev.jresnet.cuda.InferencePrecision;
import dev.jresnet.cuda.Kernels;
import dev.jresnet.cuda.Layout;
import dev.jresnet.cuda.PoolingDescriptor;
import dev.jresnet.cuda.Precision;
import dev.jresnet.cuda.Stream;
import dev.jresnet.cuda.TensorDescriptor;
import dev.jresnet.cuda.Workspace;
import dev.jresnet.nn.BatchNorm2d;
import dev.jresnet.cpu.CpuGrads;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.cuda.global.cublas.*;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudnn.*;

/**
 * The device-level training ops on fp32 NCHW buffers, shared by {@link CudaTrainableResNet} and the op-by-op
 * tests ({@link GpuGradOps}): convolution forward, data and filter gradients (cuDNN, algorithms from the
 * {@code _v7} heuristics chosen once per shape and cached, grow-only workspace), BatchNorm in both modes
 * (cuDNN training-mode forward and backward with {@code CUDNN_BATCHNORM_SPATIAL}; the frozen-statistics mode
 * with train.cu kernels, since cuDNN's backward always differentiates through the batch statistics), max
 * pooling forward and backward (cuDNN, deterministic max), the linear layer forward and backward (cuBLAS), and
 * the kernels of {@link TrainKernels}.
 *
 * <p>Exactness: with {@link InferencePrecision#FP32} every convolution descriptor uses FMA math and any
 * heuristic candidate that would use tensor cores is skipped; cuBLAS runs pedantic fp32. With
 * {@link InferencePrecision#TF32} tensor cores may round operands to TF32. FP16 is not supported here.
 *
 * <p>Parameter gradients accumulate (beta = 1), input gradients are written, as in {@link CpuGrads}. Everything
 * is queued on {@link #stream()}; nothing synchronises except workspace growth.
 */
@SuppressWarnings("deprecation")
public final class TrainOps implements AutoCloseable {
    /** cuDNN's exponentialAverageFactor: torch's BatchNorm2d momentum (0.1), same update formula. */
    public static final double BN_MOMENTUM = CpuGrads.BN_MOMENTUM;
    /** BatchNorm epsilon as the CPU uses it (the float 1e-5f widened to double). */
    public static final double BN_EPS = BatchNorm2d.EPS;
    /** Per-call workspace limit of the convolution algorithms. */
    public static final long WORKSPACE_LIMIT = 1L << 30;

    private final CudaContext context;
    private final InferencePrecision precision;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final Kernels kernels;
    private final TrainKernels train;
    private final Stream stream;
    private final CudnnHandle cudnn;
    private final CublasHandle cublas;
    private final FloatPointer one, zero;
    private final ActivationDescriptor relu;
    private final Workspace workspace;
    private final Map<ConvKey, ConvShape> convs = new HashMap<>();
    private final Map<List<Integer>, TensorDescriptor> tensors = new HashMap<>();
    private final Map<List<Integer>, PoolingDescriptor> pools = new HashMap<>();
    private DeviceMemory ones;

    /** A convolution problem at one batch size. */
    public record ConvKey(int n, int c, int h, int w, int k, int r, int s, int stride, int pad) {
        public int p() {
            return (h + 2 * pad - r) / stride + 1;
        }

        public int q() {
            return (w + 2 * pad - s) / stride + 1;
        }
    }

    /** One heuristic candidate of any of the three convolution directions. */
    public record Candidate(int algo, int status, long memory, int determinism, int mathType) {}

    /** The descriptors and chosen algorithms of one convolution shape. */
    public static final class ConvShape {
        public final ConvKey key;
        final TensorDescriptor x, y;
        final FilterDescriptor w;
        final ConvolutionDescriptor fwdConv, dataConv, filterConv;
        final int fwdAlgo, dataAlgo, filterAlgo;
        final long fwdWs, dataWs, filterWs;

        ConvShape(ConvKey key, TensorDescriptor x, TensorDescriptor y, FilterDescriptor w, ConvolutionDescriptor fwdConv,
                  ConvolutionDescriptor dataConv, ConvolutionDescriptor filterConv, int fwdAlgo, int dataAlgo,
                  int filterAlgo, long fwdWs, long dataWs, long filterWs) {
            this.key = key;
            this.x = x;
            this.y = y;
            this.w = w;
            this.fwdConv = fwdConv;
            this.dataConv = dataConv;
            this.filterConv = filterConv;
            this.fwdAlgo = fwdAlgo;
            this.dataAlgo = dataAlgo;
            this.filterAlgo = filterAlgo;
            this.fwdWs = fwdWs;
            this.dataWs = dataWs;
            this.filterWs = filterWs;
        }

        /** "fwd 1 / data 1 / filter 1" for reports. */
        public String algorithms() {
            return "fwd " + fwdAlgo + " / data " + dataAlgo + " / filter " + filterAlgo;
        }

        void close() {
            for (AutoCloseable c : new AutoCloseable[] {filterConv, dataConv, fwdConv, w, y, x}) {
                try {
                    c.close();
                } catch (Exception e) {
                    // closing: best effort
                }
            }
        }
    }

    /** Takes {@code kernels} (loaded for {@code context}) without owning them. */
    public TrainOps(CudaContext context, Kernels kernels, InferencePrecision precision) {
        if (precision == InferencePrecision.FP16) {
            throw new IllegalArgumentException("GPU training supports fp32 and tf32 (NCHW), not fp16");
        }
        this.context = context;
        this.precision = precision;
        this.kernels = kernels;
        this.train = new TrainKernels(kernels);
        try {
            context.makeCurrent();
            stream = own(Stream.create());
            cudnn = own(CudnnHandle.create(stream));
            cublas = own(CublasHandle.create(stream));
            cublas.setMathMode(precision.cublasMath());
            one = own(new FloatPointer(1).put(1f));
            zero = own(new FloatPointer(1).put(0f));
            workspace = own(new Workspace(stream, "training convolutions"));
            relu = own(ActivationDescriptor.relu());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private <T extends AutoCloseable> T own(T r) {
        owned.push(r);
        return r;
    }

    public Stream stream() {
        return stream;
    }

    public TrainKernels kernels() {
        return train;
    }

    public Kernels baseKernels() {
        return kernels;
    }

    public CudaContext context() {
        return context;
    }

    public InferencePrecision precision() {
        return precision;
    }

    public long workspaceBytes() {
        return workspace.bytes();
    }

    /** Shapes planned so far (for reports). */
    public synchronized List<ConvShape> convShapes() {
        return List.copyOf(convs.values());
    }

    // ---------------------------------------------------------------- descriptors

    /** A cached NCHW fp32 tensor descriptor. */
    public synchronized TensorDescriptor tensor(int n, int c, int h, int w) {
        return tensors.computeIfAbsent(List.of(n, c, h, w), k -> TensorDescriptor.nchw(Precision.FP32, n, c, h, w));
    }

    /** The convolution's descriptors and algorithms, chosen on first use of this shape. */
    public synchronized ConvShape conv(ConvKey key) {
        ConvShape s = convs.get(key);
        if (s == null) {
            s = planConv(key);
            convs.put(key, s);
        }
        return s;
    }

    private ConvShape planConv(ConvKey key) {
        List<AutoCloseable> made = new ArrayList<>();
        try {
            TensorDescriptor x = TensorDescriptor.nchw(Precision.FP32, key.n(), key.c(), key.h(), key.w());
            made.add(x);
            TensorDescriptor y = TensorDescriptor.nchw(Precision.FP32, key.n(), key.k(), key.p(), key.q());
            made.add(y);
            FilterDescriptor w = FilterDescriptor.create(Layout.NCHW, Precision.FP32, key.k(), key.c(), key.r(), key.s());
            made.add(w);
            ConvolutionDescriptor query = ConvolutionDescriptor.create(key.pad(), key.stride(), Precision.FP32,
                    precision.convMath());
            made.add(query);
            int[] out = query.outputDim(x, w);
            if (!Arrays.equals(out, new int[] {key.n(), key.k(), key.p(), key.q()})) {
                throw new IllegalStateException("cuDNN output " + Arrays.toString(out) + " != planned for " + key);
            }
            boolean exact = precision.exact();
            Candidate f = pick(forwardCandidates(x, w, query, y), exact, WORKSPACE_LIMIT, "forward", key);
            Candidate d = pick(dataCandidates(x, w, query, y), exact, WORKSPACE_LIMIT, "backward data", key);
            Candidate fl = pick(filterCandidates(x, w, query, y), exact, WORKSPACE_LIMIT, "backward filter", key);
            ConvolutionDescriptor fc = descriptorFor(key, f, made);
            ConvolutionDescriptor dc = descriptorFor(key, d, made);
            ConvolutionDescriptor flc = descriptorFor(key, fl, made);
            long fws, dws, flws;
            try (SizeTPointer size = new SizeTPointer(1)) {
                Cudnn.check(cudnnGetConvolutionForwardWorkspaceSize(cudnn.handle(), x.handle(), w.handle(), fc.handle(),
                        y.handle(), f.algo(), size), "cudnnGetConvolutionForwardWorkspaceSize", key);
                fws = Math.max(size.get(), f.memory());
                Cudnn.check(cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn.handle(), w.handle(), y.handle(),
                        dc.handle(), x.handle(), d.algo(), size), "cudnnGetConvolutionBackwardDataWorkspaceSize", key);
                dws = Math.max(size.get(), d.memory());
                Cudnn.check(cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn.handle(), x.handle(), y.handle(),
                        flc.handle(), w.handle(), fl.algo(), size), "cudnnGetConvolutionBackwardFilterWorkspaceSize", key);
                flws = Math.max(size.get(), fl.memory());
            }
            made.remove(query);
            query.close();
            return new ConvShape(key, x, y, w, fc, dc, flc, f.algo(), d.algo(), fl.algo(), fws, dws, flws);
        } catch (RuntimeException e) {
            for (int i = made.size() - 1; i >= 0; i--) {
                try {
                    made.get(i).close();
                } catch (Exception ignored) {
                    // the first error is the one reported
                }
            }
            throw e;
        }
    }

    private ConvolutionDescriptor descriptorFor(ConvKey key, Candidate c, List<AutoCloseable> made) {
        ConvolutionDescriptor.MathType math = precision.exact() ? ConvolutionDescriptor.MathType.FMA
                : ConvolutionDescriptor.MathType.of(c.mathType());
        ConvolutionDescriptor d = ConvolutionDescriptor.create(key.pad(), key.stride(), Precision.FP32, math);
        made.add(d);
        return d;
    }

    /**
     * The first usable candidate in cuDNN's order: status success, workspace within the limit, no tensor-core math
     * when {@code exact}; among those a deterministic one is preferred (so that repeated runs agree bit for bit).
     */
    public static Candidate pick(List<Candidate> candidates, boolean exact, long workspaceLimit, String what,
                                 Object context) {
        Candidate firstUsable = null;
        StringBuilder rejected = new StringBuilder();
        for (Candidate c : candidates) {
            boolean tensorOps = c.mathType() == CUDNN_TENSOR_OP_MATH || c.mathType() == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
            if (c.status() != CUDNN_STATUS_SUCCESS || c.memory() > workspaceLimit || (exact && tensorOps)) {
                rejected.append(" ").append(c);
                continue;
            }
            if (c.determinism() == CUDNN_DETERMINISTIC) {
                return c;
            }
            if (firstUsable == null) {
                firstUsable = c;
            }
        }
        if (firstUsable != null) {
            return firstUsable;
        }
        throw new CudaException(CudaException.Library.CUDNN, "cudnnGetConvolution*Algorithm_v7", CUDNN_STATUS_NOT_SUPPORTED,
                "no usable " + what + " algorithm", context + ", workspace limit " + workspaceLimit + ", candidates:"
                + rejected);
    }

    private List<Candidate> forwardCandidates(TensorDescriptor x, FilterDescriptor w, ConvolutionDescriptor conv,
                                              TensorDescriptor y) {
        int[] max = {0};
        Cudnn.check(cudnnGetConvolutionForwardAlgorithmMaxCount(cudnn.handle(), max), "cudnnGetConvolutionForwardAlgorithmMaxCount");
        int count = Math.max(1, max[0]);
        List<Candidate> out = new ArrayList<>();
        try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(count)) {
            int[] returned = {0};
            Cudnn.check(cudnnGetConvolutionForwardAlgorithm_v7(cudnn.handle(), x.handle(), w.handle(), conv.handle(),
                    y.handle(), count, returned, perf), "cudnnGetConvolutionForwardAlgorithm_v7", x.shape(), w.shape());
            for (int i = 0; i < returned[0]; i++) {
                cudnnConvolutionFwdAlgoPerf_t p = perf.getPointer(i);
                out.add(new Candidate(p.algo(), p.status(), p.memory(), p.determinism(), p.mathType()));
            }
        }
        return out;
    }

    private List<Candidate> dataCandidates(TensorDescriptor x, FilterDescriptor w, ConvolutionDescriptor conv,
                                           TensorDescriptor y) {
        int[] max = {0};
        Cudnn.check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnn.handle(), max),
                "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
        int count = Math.max(1, max[0]);
        List<Candidate> out = new ArrayList<>();
        try (cudnnConvolutionBwdDataAlgoPerf_t perf = new cudnnConvolutionBwdDataAlgoPerf_t(count)) {
            int[] returned = {0};
            Cudnn.check(cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn.handle(), w.handle(), y.handle(), conv.handle(),
                    x.handle(), count, returned, perf), "cudnnGetConvolutionBackwardDataAlgorithm_v7", x.shape(), w.shape());
            for (int i = 0; i < returned[0]; i++) {
                cudnnConvolutionBwdDataAlgoPerf_t p = perf.getPointer(i);
                out.add(new Candidate(p.algo(), p.status(), p.memory(), p.determinism(), p.mathType()));
            }
        }
        return out;
    }

    private List<Candidate> filterCandidates(TensorDescriptor x, FilterDescriptor w, ConvolutionDescriptor conv,
                                             TensorDescriptor y) {
        int[] max = {0};
        Cudnn.check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnn.handle(), max),
                "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
        int count = Math.max(1, max[0]);
        List<Candidate> out = new ArrayList<>();
        try (cudnnConvolutionBwdFilterAlgoPerf_t perf = new cudnnConvolutionBwdFilterAlgoPerf_t(count)) {
            int[] returned = {0};
            Cudnn.check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnn.handle(), x.handle(), y.handle(),
                    conv.handle(), w.handle(), count, returned, perf), "cudnnGetConvolutionBackwardFilterAlgorithm_v7",
                    x.shape(), w.shape());
            for (int i = 0; i < returned[0]; i++) {
                cudnnConvolutionBwdFilterAlgoPerf_t p = perf.getPointer(i);
                out.add(new Candidate(p.algo(), p.status(), p.memory(), p.determinism(), p.mathType()));
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- convolution

    /** y = conv(x, w) (no bias: a BatchNorm follows every convolution). */
    public void convForward(ConvShape s, DeviceBuffer x, DeviceBuffer w, DeviceBuffer y) {
        need(x, s.x.bytes(), "conv input");
        need(w, s.w.bytes(), "conv filter");
        need(y, s.y.bytes(), "conv output");
        DeviceBuffer ws = workspace.ensure(s.fwdWs);
        Cudnn.check(cudnnConvolutionForward(cudnn.handle(), one, s.x.handle(), x.pointer(), s.w.handle(), w.pointer(),
                s.fwdConv.handle(), s.fwdAlgo, ws.pointer(), s.fwdWs, zero, s.y.handle(), y.pointer()),
                "cudnnConvolutionForward", s.key, "algo " + s.fwdAlgo);
    }

    /** dx = convᵀ(dy, w) (written, or added to dx when {@code accumulate}). */
    public void convBackwardData(ConvShape s, DeviceBuffer w, DeviceBuffer dy, DeviceBuffer dx, boolean accumulate) {
        need(w, s.w.bytes(), "conv filter");
        need(dy, s.y.bytes(), "conv output gradient");
        need(dx, s.x.bytes(), "conv input gradient");
        DeviceBuffer ws = workspace.ensure(s.dataWs);
        Cudnn.check(cudnnConvolutionBackwardData(cudnn.handle(), one, s.w.handle(), w.pointer(), s.y.handle(),
                dy.pointer(), s.dataConv.handle(), s.dataAlgo, ws.pointer(), s.dataWs, accumulate ? one : zero,
                s.x.handle(), dx.pointer()), "cudnnConvolutionBackwardData", s.key, "algo " + s.dataAlgo);
    }

    /** dw += filter gradient of (x, dy). */
    public void convBackwardFilter(ConvShape s, DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dw) {
        need(x, s.x.bytes(), "conv input");
        need(dy, s.y.bytes(), "conv output gradient");
        need(dw, s.w.bytes(), "conv filter gradient");
        DeviceBuffer ws = workspace.ensure(s.filterWs);
        Cudnn.check(cudnnConvolutionBackwardFilter(cudnn.handle(), one, s.x.handle(), x.pointer(), s.y.handle(),
                dy.pointer(), s.filterConv.handle(), s.filterAlgo, ws.pointer(), s.filterWs, one, s.w.handle(),
                dw.pointer()), "cudnnConvolutionBackwardFilter", s.key, "algo " + s.filterAlgo);
    }

    // ---------------------------------------------------------------- batch norm

    /**
     * Training-mode BatchNorm ({@code cudnnBatchNormalizationForwardTraining}, SPATIAL): y from the batch mean
     * and biased variance; running mean and variance move by {@link #BN_MOMENTUM} as
     * {@code running = (1 - factor)·running + factor·batch}, the variance term being the unbiased batch variance
     * (as torch); saveMean and saveInvStd [C] are kept for the backward. Running statistics may be null.
     */
    public void bnTrainForward(int n, int c, int h, int w, DeviceBuffer x, DeviceBuffer y, DeviceBuffer gamma,
                               DeviceBuffer beta, DeviceBuffer runningMean, DeviceBuffer runningVar,
                               DeviceBuffer saveMean, DeviceBuffer saveInvStd) {
        TensorDescriptor xd = tensor(n, c, h, w), pd = tensor(1, c, 1, 1);
        need(x, xd.bytes(), "bn input");
        need(y, xd.bytes(), "bn output");
        for (DeviceBuffer b : new DeviceBuffer[] {gamma, beta, saveMean, saveInvStd}) {
            need(b, 4L * c, "bn per-channel buffer");
        }
        boolean running = runningMean != null && runningVar != null;
        Cudnn.check(cudnnBatchNormalizationForwardTraining(cudnn.handle(), CUDNN_BATCHNORM_SPATIAL, one, zero,
                xd.handle(), x.pointer(), xd.handle(), y.pointer(), pd.handle(), gamma.pointer(), beta.pointer(),
                running ? BN_MOMENTUM : 0.0, running ? runningMean.pointer() : null,
                running ? runningVar.pointer() : null, BN_EPS, saveMean.pointer(), saveInvStd.pointer()),
                "cudnnBatchNormalizationForwardTraining", xd.shape());
    }

    /**
     * Backward of {@link #bnTrainForward} ({@code cudnnBatchNormalizationBackward}): dx written, dGamma and dBeta
     * accumulated (betaParamDiff = 1).
     */
    public void bnTrainBackward(int n, int c, int h, int w, DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dx,
                                DeviceBuffer gamma, DeviceBuffer dGamma, DeviceBuffer dBeta, DeviceBuffer saveMean,
                                DeviceBuffer saveInvStd) {
        TensorDescriptor xd = tensor(n, c, h, w), pd = tensor(1, c, 1, 1);
        need(x, xd.bytes(), "bn input");
        need(dy, xd.bytes(), "bn output gradient");
        need(dx, xd.bytes(), "bn input gradient");
        Cudnn.check(cudnnBatchNormalizationBackward(cudnn.handle(), CUDNN_BATCHNORM_SPATIAL, one, zero, one, one,
                xd.handle(), x.pointer(), xd.handle(), dy.pointer(), xd.handle(), dx.pointer(), pd.handle(),
                gamma.pointer(), dGamma.pointer(), dBeta.pointer(), BN_EPS, saveMean.pointer(), saveInvStd.pointer()),
                "cudnnBatchNormalizationBackward", xd.shape());
    }

    /** BatchNorm on running statistics, optionally with ReLU (train.cu; CpuOps.batchNorm's float formula). */
    public void bnEvalForward(int n, int c, int hw, DeviceBuffer x, DeviceBuffer y, DeviceBuffer gamma,
                              DeviceBuffer beta, DeviceBuffer mean, DeviceBuffer var, boolean relu) {
        train.bnEvalForward(stream, x, y, gamma, beta, mean, var, BatchNorm2d.EPS, n, c, hw, relu);
    }

    /** Backward of {@link #bnEvalForward} without ReLU: dGamma, dBeta accumulated; dx written (may be null). */
    public void bnEvalBackward(int n, int c, int hw, DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dx,
                               DeviceBuffer gamma, DeviceBuffer mean, DeviceBuffer var, DeviceBuffer dGamma,
                               DeviceBuffer dBeta) {
        train.bnEvalBackwardParams(stream, dy, x, mean, var, dGamma, dBeta, BatchNorm2d.EPS, n, c, hw);
        if (dx != null) {
            train.bnEvalBackwardData(stream, dy, gamma, var, dx, BatchNorm2d.EPS, n, c, hw);
        }
    }

    /** y = max(x, 0) ({@code cudnnActivationForward}; y may be x). */
    public void reluForward(int n, int c, int h, int w, DeviceBuffer x, DeviceBuffer y) {
        TensorDescriptor xd = tensor(n, c, h, w);
        need(x, xd.bytes(), "relu input");
        need(y, xd.bytes(), "relu output");
        Cudnn.check(cudnnActivationForward(cudnn.handle(), relu.handle(), one, xd.handle(), x.pointer(), zero,
                xd.handle(), y.pointer()), "cudnnActivationForward", xd.shape());
    }

    // ---------------------------------------------------------------- pooling

    private synchronized PoolingDescriptor pool(int window, int pad, int stride) {
        return pools.computeIfAbsent(List.of(window, pad, stride),
                k -> PoolingDescriptor.create(CUDNN_POOLING_MAX_DETERMINISTIC, window, window, pad, pad, stride, stride));
    }

    /** Output side of a square max pool. */
    public static int poolOut(int in, int window, int pad, int stride) {
        return (in + 2 * pad - window) / stride + 1;
    }

    public void maxPoolForward(int n, int c, int h, int w, int window, int pad, int stride, DeviceBuffer x,
                               DeviceBuffer y) {
        TensorDescriptor xd = tensor(n, c, h, w);
        TensorDescriptor yd = tensor(n, c, poolOut(h, window, pad, stride), poolOut(w, window, pad, stride));
        need(x, xd.bytes(), "pool input");
        need(y, yd.bytes(), "pool output");
        Cudnn.check(cudnnPoolingForward(cudnn.handle(), pool(window, pad, stride).handle(), one, xd.handle(),
                x.pointer(), zero, yd.handle(), y.pointer()), "cudnnPoolingForward", xd.shape());
    }

    /** dx written: each output gradient to its window's maximum (cuDNN's deterministic max pooling). */
    public void maxPoolBackward(int n, int c, int h, int w, int window, int pad, int stride, DeviceBuffer x,
                                DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx) {
        TensorDescriptor xd = tensor(n, c, h, w);
        TensorDescriptor yd = tensor(n, c, poolOut(h, window, pad, stride), poolOut(w, window, pad, stride));
        need(x, xd.bytes(), "pool input");
        need(dx, xd.bytes(), "pool input gradient");
        need(y, yd.bytes(), "pool output");
        need(dy, yd.bytes(), "pool output gradient");
        Cudnn.check(cudnnPoolingBackward(cudnn.handle(), pool(window, pad, stride).handle(), one, yd.handle(),
                y.pointer(), yd.handle(), dy.pointer(), xd.handle(), x.pointer(), zero, xd.handle(), dx.pointer()),
                "cudnnPoolingBackward", xd.shape());
    }

    // ---------------------------------------------------------------- average pool, linear

    /** pooled [n, c] = mean over h·w of x [n, c, h, w] (pool.cu). */
    public void globalAvgPool(int n, int c, int h, int w, DeviceBuffer x, DeviceBuffer pooled) {
        kernels.globalAvgPoolNchwF32(stream, x, pooled, n, c, h, w);
    }

    private DeviceBuffer ones(int n) {
        if (ones == null || ones.bytes() < 4L * n) {
            if (ones != null) {
                stream.synchronize();
                ones.close();
            }
            ones = DeviceMemory.allocate(4L * n, "ones for bias broadcast");
            float[] v = new float[n];
            Arrays.fill(v, 1f);
            ones.buffer().upload(stream, v);
        }
        return ones.buffer();
    }

    /**
     * y [n, o] = x [n, i] · wᵀ + b: yᵀ = b·1ᵀ (a rank-1 GEMM, exact), then += (w as stored, op T)·xᵀ, in
     * column-major terms.
     */
    public void linearForward(int n, int in, int out, DeviceBuffer x, DeviceBuffer w, DeviceBuffer b, DeviceBuffer y) {
        need(x, 4L * n * in, "linear input");
        need(w, 4L * out * in, "linear weight");
        need(b, 4L * out, "linear bias");
        need(y, 4L * n * out, "linear output");
        String shape = "x [" + n + ", " + in + "], w [" + out + ", " + in + "]";
        Cublas.check(cublasGemmEx(cublas.handle(), CUBLAS_OP_N, CUBLAS_OP_N, out, n, 1, one, b.pointer(), CUDA_R_32F,
                out, ones(n).pointer(), CUDA_R_32F, 1, zero, y.pointer(), CUDA_R_32F, out, CUBLAS_COMPUTE_32F_PEDANTIC,
                CUBLAS_GEMM_DEFAULT), "cublasGemmEx", "linear bias broadcast", shape);
        Cublas.check(cublasGemmEx(cublas.handle(), CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, one, w.pointer(), CUDA_R_32F,
                in, x.pointer(), CUDA_R_32F, in, one, y.pointer(), CUDA_R_32F, out, precision.cublasCompute(),
                CUBLAS_GEMM_DEFAULT), "cublasGemmEx", "linear", shape);
    }

    /**
     * Backward of {@link #linearForward}: dx [n, i] = dy · w (written; skipped when dx is null),
     * dw [o, i] += dyᵀ · x, db [o] += Σ_n dy (train.cu, rows in order in double).
     */
    public void linearBackward(int n, int in, int out, DeviceBuffer dy, DeviceBuffer x, DeviceBuffer w,
                               DeviceBuffer dx, DeviceBuffer dw, DeviceBuffer db) {
        need(dy, 4L * n * out, "linear output gradient");
        need(x, 4L * n * in, "linear input");
        need(w, 4L * out * in, "linear weight");
        need(dw, 4L * out * in, "linear weight gradient");
        String shape = "x [" + n + ", " + in + "], w [" + out + ", " + in + "]";
        if (dx != null) {
            need(dx, 4L * n * in, "linear input gradient");
            // dxᵀ (i x n) = w_cm (i x o) · dyᵀ (o x n)
            Cublas.check(cublasGemmEx(cublas.handle(), CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, one, w.pointer(),
                    CUDA_R_32F, in, dy.pointer(), CUDA_R_32F, out, zero, dx.pointer(), CUDA_R_32F, in,
                    precision.cublasCompute(), CUBLAS_GEMM_DEFAULT), "cublasGemmEx", "linear dx", shape);
        }
        // dw_cm (i x o) += x_cm (i x n) · (dy_cm (o x n))ᵀ
        Cublas.check(cublasGemmEx(cublas.handle(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, one, x.pointer(), CUDA_R_32F,
                in, dy.pointer(), CUDA_R_32F, out, one, dw.pointer(), CUDA_R_32F, in, precision.cublasCompute(),
                CUBLAS_GEMM_DEFAULT), "cublasGemmEx", "linear dw", shape);
        if (db != null) {
            train.biasGrad(stream, dy, db, n, out);
        }
    }

    private static void need(DeviceBuffer b, long bytes, String what) {
        if (b == null || b.bytes() < bytes) {
            throw new IllegalArgumentException(what + " needs " + bytes + " bytes, got " + b);
        }
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
        for (ConvShape s : convs.values()) {
            s.close();
        }
        convs.clear();
        for (TensorDescriptor t : tensors.values()) {
            t.close();
        }
        tensors.clear();
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
