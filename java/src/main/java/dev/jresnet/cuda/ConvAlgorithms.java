package dev.jresnet.cuda;

import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * The forward algorithm of each convolution shape, chosen once and cached per (shape, precision, batch):
 * cuDNN's heuristics ({@code cudnnGetConvolutionForwardAlgorithm_v7}, no GPU work) or, with
 * {@link Search#EXHAUSTIVE}, timing every algorithm ({@code cudnnFindConvolutionForwardAlgorithmEx}). The
 * first result that succeeded, fits the workspace limit and (for exact fp32) does not use tensor cores wins.
 * Thread-safe; shared by all execution contexts of a model.
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class ConvAlgorithms {
    /** How algorithms are chosen. */
    public enum Search { HEURISTIC, EXHAUSTIVE }

    /** A convolution problem: batch n, input c x h x w, k filters of r x s, square stride and padding. */
    public record Key(InferencePrecision precision, int n, int c, int h, int w, int k, int r, int s, int stride,
                      int pad) {
        @Override
        public String toString() {
            return precision + " n=" + n + " c=" + c + " h=" + h + " w=" + w + " k=" + k + " r=" + r + " s=" + s
                    + " stride=" + stride + " pad=" + pad;
        }
    }

    /** The chosen {@code cudnnConvolutionFwdAlgo_t}, the math type to set, its workspace, and how it was found. */
    public record Choice(int algo, int mathType, long workspaceBytes, String how) {}

    /** Device buffers for an exhaustive search (its results are garbage; y is overwritten). */
    public record FindBuffers(DeviceBuffer x, DeviceBuffer w, DeviceBuffer y, DeviceBuffer workspace) {}

    private final Search search;
    private final long workspaceLimit;
    private final Map<Key, Choice> cache = new ConcurrentHashMap<>();

    public ConvAlgorithms(Search search, long workspaceLimit) {
        this.search = search;
        this.workspaceLimit = workspaceLimit;
    }

    public Search search() {
        return search;
    }

    public long workspaceLimit() {
        return workspaceLimit;
    }

    /** Cached choices so far (for reports and tests). */
    public Map<Key, Choice> choices() {
        return Map.copyOf(cache);
    }

    /**
     * The choice for {@code key}, computing it with these descriptors on a miss. {@code find} may be null,
     * which means heuristics even when the search is exhaustive.
     */
    public Choice choose(Key key, CudnnHandle handle, TensorDescriptor x, FilterDescriptor w,
                         ConvolutionDescriptor conv, TensorDescriptor y, FindBuffers find) {
        Choice c = cache.get(key);
        if (c != null) {
            return c;
        }
        c = search == Search.EXHAUSTIVE && find != null
                ? exhaustive(key, handle, x, w, conv, y, find) : heuristic(key, handle, x, w, conv, y);
        Choice previous = cache.putIfAbsent(key, c);
        return previous != null ? previous : c;
    }

    private Choice heuristic(Key key, CudnnHandle handle, TensorDescriptor x, FilterDescriptor w,
                             ConvolutionDescriptor conv, TensorDescriptor y) {
        int max = maxCount(handle);
        try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(max)) {
            int[] returned = {0};
            Cudnn.check(cudnnGetConvolutionForwardAlgorithm_v7(handle.handle(), x.handle(), w.handle(), conv.handle(),
                    y.handle(), max, returned, perf), "cudnnGetConvolutionForwardAlgorithm_v7", key.toString(),
                    x.shape(), w.shape(), conv.params());
            return pick(key, perf, returned[0], "heuristic", handle, x, w, conv, y);
        }
    }

    private Choice exhaustive(Key key, CudnnHandle handle, TensorDescriptor x, FilterDescriptor w,
                              ConvolutionDescriptor conv, TensorDescriptor y, FindBuffers find) {
        int max = maxCount(handle);
        long ws = Math.min(workspaceLimit, find.workspace().bytes());
        try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(max)) {
            int[] returned = {0};
            Cudnn.check(cudnnFindConvolutionForwardAlgorithmEx(handle.handle(), x.handle(), find.x().pointer(),
                    w.handle(), find.w().pointer(), conv.handle(), y.handle(), find.y().pointer(), max, returned, perf,
                    find.workspace().pointer(), ws), "cudnnFindConvolutionForwardAlgorithmEx", key.toString(),
                    "workspace " + ws);
            return pick(key, perf, returned[0], "timed", handle, x, w, conv, y);
        }
    }

    private static int maxCount(CudnnHandle handle) {
        int[] max = {0};
        Cudnn.check(cudnnGetConvolutionForwardAlgorithmMaxCount(handle.handle(), max),
                "cudnnGetConvolutionForwardAlgorithmMaxCount");
        return Math.max(1, max[0]);
    }

    private Choice pick(Key key, cudnnConvolutionFwdAlgoPerf_t perf, int returned, String how, CudnnHandle handle,
                        TensorDescriptor x, FilterDescriptor w, ConvolutionDescriptor conv, TensorDescriptor y) {
        StringBuilder rejected = new StringBuilder();
        for (int i = 0; i < returned; i++) {
            cudnnConvolutionFwdAlgoPerf_t p = perf.getPointer(i);
            int status = p.status();
            long memory = p.memory();
            int math = p.mathType();
            boolean tensorOps = math == CUDNN_TENSOR_OP_MATH || math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
            if (status != CUDNN_STATUS_SUCCESS || memory > workspaceLimit || (key.precision().exact() && tensorOps)) {
                rejected.append(" algo ").append(p.algo()).append(" (status ").append(status).append(", ")
                        .append(memory).append(" bytes, math ").append(math).append(')');
                continue;
            }
            int mathType = key.precision().exact() ? conv.mathType().cudnnValue() : math;
            long bytes = Math.max(memory, workspaceSize(handle, x, w, conv, y, p.algo(), key));
            return new Choice(p.algo(), mathType, bytes, how + " #" + i + " of " + returned);
        }
        throw new CudaException(CudaException.Library.CUDNN, "cudnnGetConvolutionForwardAlgorithm_v7",
                CUDNN_STATUS_NOT_SUPPORTED, "no usable algorithm", key + ", workspace limit " + workspaceLimit
                + ", " + returned + " candidates:" + rejected);
    }

    /** {@code cudnnGetConvolutionForwardWorkspaceSize} for {@code algo}. */
    static long workspaceSize(CudnnHandle handle, TensorDescriptor x, FilterDescriptor w, ConvolutionDescriptor conv,
                              TensorDescriptor y, int algo, Object context) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            Cudnn.check(cudnnGetConvolutionForwardWorkspaceSize(handle.handle(), x.handle(), w.handle(), conv.handle(),
                    y.handle(), algo, size), "cudnnGetConvolutionForwardWorkspaceSize", "algo " + algo, context);
            return size.get();
        }
    }
}
