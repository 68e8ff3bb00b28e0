package dev.jresnet.cuda;

import dev.jresnet.nn.Step;
import dev.jresnet.tensor.Precision;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * The one place that chooses cuDNN convolution algorithms, for inference and training alike: forward, backward
 * data and backward filter, each chosen once per (direction, shape, precision, batch) and cached. Candidates come
 * from cuDNN's heuristics ({@code cudnnGet*Algorithm_v7}, no GPU work) or, for the forward pass with
 * {@link Search#EXHAUSTIVE}, from timing every algorithm ({@code cudnnFindConvolutionForwardAlgorithmEx}). The first
 * candidate that succeeded, fits the workspace limit and (for exact fp32) is a GEMM or direct algorithm without tensor
 * cores wins; for the
 * backward passes a deterministic one is preferred, so that repeated training runs agree bit for bit. Thread-safe;
 * shared by every execution context of a model.
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class ConvAlgorithms {
    /** How forward algorithms are chosen. */
    public enum Search { HEURISTIC, EXHAUSTIVE }

    /** Which computation of a convolution. */
    public enum Direction { FORWARD, BACKWARD_DATA, BACKWARD_FILTER }

    /** A convolution problem: batch n, input c x h x w, k filters of r x s, square stride and padding, groups. */
    public record Key(Precision precision, int n, int c, int h, int w, int k, int r, int s, int stride, int pad,
                      int groups) {
        public int p() {
            return Step.outSize(h, r, stride, pad);
        }

        public int q() {
            return Step.outSize(w, s, stride, pad);
        }

        @Override
        public String toString() {
            return precision.id() + " n=" + n + " c=" + c + " h=" + h + " w=" + w + " k=" + k + " r=" + r + " s=" + s
                    + " stride=" + stride + " pad=" + pad + (groups != 1 ? " groups=" + groups : "");
        }
    }

    /** One candidate of any direction, as cuDNN reports it. */
    public record Candidate(int algo, int status, long memory, int determinism, int mathType) {}

    /** The chosen algorithm, the math type to set, its workspace, and how it was found. */
    public record Choice(int algo, int mathType, long workspaceBytes, String how) {}

    /** Device buffers for an exhaustive search (its results are garbage; y is overwritten). */
    public record FindBuffers(DeviceBuffer x, DeviceBuffer w, DeviceBuffer y, DeviceBuffer workspace) {}

    private record Entry(Direction direction, Key key) {}

    private final Search search;
    private final long workspaceLimit;
    private final Map<Entry, Choice> cache = new ConcurrentHashMap<>();

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

    /** Forward choices so far (for reports and tests). */
    public Map<Key, Choice> choices() {
        Map<Key, Choice> out = new java.util.HashMap<>();
        cache.forEach((e, c) -> {
            if (e.direction() == Direction.FORWARD) {
                out.put(e.key(), c);
            }
        });
        return Map.copyOf(out);
    }

    /**
     * The choice for {@code key} in {@code direction}, computing it with these descriptors on a miss. {@code find}
     * may be null, which means heuristics even when the search is exhaustive (backward passes always use them).
     */
    public Choice choose(Direction direction, Key key, CudnnHandle handle, TensorDescriptor x, FilterDescriptor w,
                         ConvolutionDescriptor conv, TensorDescriptor y, FindBuffers find) {
        Entry entry = new Entry(direction, key);
        Choice c = cache.get(entry);
        if (c != null) {
            return c;
        }
        List<Candidate> candidates;
        String how;
        if (direction == Direction.FORWARD && search == Search.EXHAUSTIVE && find != null) {
            candidates = timedForward(key, handle, x, w, conv, y, find);
            how = "timed";
        } else {
            candidates = heuristic(direction, key, handle, x, w, conv, y);
            how = "heuristic";
        }
        int i = pick(candidates, direction, key.precision().exact(), workspaceLimit, key.toString());
        Candidate p = candidates.get(i);
        int mathType = key.precision().exact() ? conv.mathType().cudnnValue() : p.mathType();
        long bytes = Math.max(p.memory(), workspaceSize(direction, handle, x, w, conv, y, p.algo(), key));
        c = new Choice(p.algo(), mathType, bytes, how + " #" + i + " of " + candidates.size());
        Choice previous = cache.putIfAbsent(entry, c);
        return previous != null ? previous : c;
    }

    /**
     * The index of the first usable candidate in cuDNN's order: status success, workspace within the limit, and when
     * {@code exact} neither tensor-core math nor an algorithm outside {@link #isExactFamily the GEMM and direct
     * family}; for the backward directions, the first deterministic usable one when there is one. Throws naming every
     * rejected candidate when none is usable.
     */
    public static int pick(List<Candidate> candidates, Direction direction, boolean exact, long workspaceLimit,
                           String context) {
        boolean preferDeterministic = direction != Direction.FORWARD;
        int firstUsable = -1;
        StringBuilder rejected = new StringBuilder();
        for (int i = 0; i < candidates.size(); i++) {
            Candidate c = candidates.get(i);
            boolean tensorOps = c.mathType() == CUDNN_TENSOR_OP_MATH
                    || c.mathType() == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
            if (c.status() != CUDNN_STATUS_SUCCESS || c.memory() > workspaceLimit
                    || (exact && (tensorOps || !isExactFamily(direction, c.algo())))) {
                rejected.append(" algo ").append(c.algo()).append(" (status ").append(c.status()).append(", ")
                        .append(c.memory()).append(" bytes, math ").append(c.mathType()).append(')');
                continue;
            }
            if (!preferDeterministic || c.determinism() == CUDNN_DETERMINISTIC) {
                return i;
            }
            if (firstUsable < 0) {
                firstUsable = i;
            }
        }
        if (firstUsable >= 0) {
            return firstUsable;
        }
        throw new CudaException(CudaException.Library.CUDNN, "cudnnGetConvolution*Algorithm_v7",
                CUDNN_STATUS_NOT_SUPPORTED, "no usable algorithm", direction + " " + context + ", workspace limit "
                + workspaceLimit + (exact ? ", exact fp32 (GEMM and direct algorithms only)" : "") + ", "
                + candidates.size() + " candidates:" + rejected);
    }

    /**
     * Whether {@code algo} of {@code direction} computes each output as a plain fp32 dot product (implicit or explicit
     * GEMM, direct): what exact fp32 allows. FFT and Winograd transform the operands, and their rounding error grows
     * with the tile and the magnitudes (Lavin and Gray 2016; cuDNN documents no bound), so they cannot promise the CPU
     * reference's 1e-5.
     */
    public static boolean isExactFamily(Direction direction, int algo) {
        return switch (direction) {
            case FORWARD -> algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM
                    || algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM
                    || algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || algo == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
            case BACKWARD_DATA -> algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
            case BACKWARD_FILTER -> algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0
                    || algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 || algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
        };
    }

    private static List<Candidate> heuristic(Direction d, Key key, CudnnHandle handle, TensorDescriptor x,
                                             FilterDescriptor w, ConvolutionDescriptor conv, TensorDescriptor y) {
        int[] max = {0};
        int[] returned = {0};
        List<Candidate> out = new ArrayList<>();
        String ctx = key + ", " + x.shape() + ", " + w.shape() + ", " + conv.params();
        switch (d) {
            case FORWARD -> {
                Cudnn.check(cudnnGetConvolutionForwardAlgorithmMaxCount(handle.handle(), max),
                        "cudnnGetConvolutionForwardAlgorithmMaxCount");
                try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(Math.max(1, max[0]))) {
                    Cudnn.check(cudnnGetConvolutionForwardAlgorithm_v7(handle.handle(), x.handle(), w.handle(),
                            conv.handle(), y.handle(), Math.max(1, max[0]), returned, perf),
                            "cudnnGetConvolutionForwardAlgorithm_v7", ctx);
                    for (int i = 0; i < returned[0]; i++) {
                        cudnnConvolutionFwdAlgoPerf_t p = perf.getPointer(i);
                        out.add(new Candidate(p.algo(), p.status(), p.memory(), p.determinism(), p.mathType()));
                    }
                }
            }
            case BACKWARD_DATA -> {
                Cudnn.check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle.handle(), max),
                        "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
                try (cudnnConvolutionBwdDataAlgoPerf_t perf = new cudnnConvolutionBwdDataAlgoPerf_t(Math.max(1, max[0]))) {
                    Cudnn.check(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle.handle(), w.handle(), y.handle(),
                            conv.handle(), x.handle(), Math.max(1, max[0]), returned, perf),
                            "cudnnGetConvolutionBackwardDataAlgorithm_v7", ctx);
                    for (int i = 0; i < returned[0]; i++) {
                        cudnnConvolutionBwdDataAlgoPerf_t p = perf.getPointer(i);
                        out.add(new Candidate(p.algo(), p.status(), p.memory(), p.determinism(), p.mathType()));
                    }
                }
            }
            case BACKWARD_FILTER -> {
                Cudnn.check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle.handle(), max),
                        "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
                try (cudnnConvolutionBwdFilterAlgoPerf_t perf =
                             new cudnnConvolutionBwdFilterAlgoPerf_t(Math.max(1, max[0]))) {
                    Cudnn.check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle.handle(), x.handle(), y.handle(),
                            conv.handle(), w.handle(), Math.max(1, max[0]), returned, perf),
                            "cudnnGetConvolutionBackwardFilterAlgorithm_v7", ctx);
                    for (int i = 0; i < returned[0]; i++) {
                        cudnnConvolutionBwdFilterAlgoPerf_t p = perf.getPointer(i);
                        out.add(new Candidate(p.algo(), p.status(), p.memory(), p.determinism(), p.mathType()));
                    }
                }
            }
        }
        return out;
    }

    private List<Candidate> timedForward(Key key, CudnnHandle handle, TensorDescriptor x, FilterDescriptor w,
                                         ConvolutionDescriptor conv, TensorDescriptor y, FindBuffers find) {
        int[] max = {0};
        Cudnn.check(cudnnGetConvolutionForwardAlgorithmMaxCount(handle.handle(), max),
                "cudnnGetConvolutionForwardAlgorithmMaxCount");
        long ws = Math.min(workspaceLimit, find.workspace().bytes());
        List<Candidate> out = new ArrayList<>();
        try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(Math.max(1, max[0]))) {
            int[] returned = {0};
            Cudnn.check(cudnnFindConvolutionForwardAlgorithmEx(handle.handle(), x.handle(), find.x().pointer(),
                    w.handle(), find.w().pointer(), conv.handle(), y.handle(), find.y().pointer(), Math.max(1, max[0]),
                    returned, perf, find.workspace().pointer(), ws), "cudnnFindConvolutionForwardAlgorithmEx",
                    key.toString(), "workspace " + ws);
            for (int i = 0; i < returned[0]; i++) {
                cudnnConvolutionFwdAlgoPerf_t p = perf.getPointer(i);
                out.add(new Candidate(p.algo(), p.status(), p.memory(), p.determinism(), p.mathType()));
            }
        }
        return out;
    }

    /** {@code cudnnGetConvolution*WorkspaceSize} of {@code algo} in {@code direction}. */
    static long workspaceSize(Direction d, CudnnHandle handle, TensorDescriptor x, FilterDescriptor w,
                              ConvolutionDescriptor conv, TensorDescriptor y, int algo, Object context) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            switch (d) {
                case FORWARD -> Cudnn.check(cudnnGetConvolutionForwardWorkspaceSize(handle.handle(), x.handle(),
                        w.handle(), conv.handle(), y.handle(), algo, size), "cudnnGetConvolutionForwardWorkspaceSize",
                        "algo " + algo, context);
                case BACKWARD_DATA -> Cudnn.check(cudnnGetConvolutionBackwardDataWorkspaceSize(handle.handle(),
                        w.handle(), y.handle(), conv.handle(), x.handle(), algo, size),
                        "cudnnGetConvolutionBackwardDataWorkspaceSize", "algo " + algo, context);
                case BACKWARD_FILTER -> Cudnn.check(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle.handle(),
                        x.handle(), y.handle(), conv.handle(), w.handle(), algo, size),
                        "cudnnGetConvolutionBackwardFilterWorkspaceSize", "algo " + algo, context);
            }
            return size.get();
        }
    }
}
