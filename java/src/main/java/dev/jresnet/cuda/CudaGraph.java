package dev.jresnet.cuda;

import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * A captured and instantiated CUDA graph: {@link #capture} records everything {@code body} queues on the
 * stream ({@code cudaStreamBeginCapture} in thread-local mode, {@code cudaStreamEndCapture},
 * {@code cudaGraphInstantiate}); {@link #launch} replays it ({@code cudaGraphLaunch}). The body must not
 * synchronise, allocate or copy to or from pageable memory; the buffers it used must outlive the graph.
 */
public final class CudaGraph extends CudaResource {
    private final CUgraph_st graph;
    private final CUgraphExec_st exec;
    private final String what;

    private CudaGraph(CUgraph_st graph, CUgraphExec_st exec, String what) {
        this.graph = graph;
        this.exec = exec;
        this.what = what;
    }

    /**
     * Captures {@code body} on {@code stream}; any failure ends the capture and throws. Creating or freeing native
     * resources in other threads waits until the capture has ended ({@link CaptureLock}).
     */
    public static CudaGraph capture(Stream stream, String what, Runnable body) {
        return CaptureLock.capturing(() -> captureUnlocked(stream, what, body));
    }

    private static CudaGraph captureUnlocked(Stream stream, String what, Runnable body) {
        Cuda.check(cudaStreamBeginCapture(stream.handle(), cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture",
                what);
        CUgraph_st graph = new CUgraph_st();
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            int rc = cudaStreamEndCapture(stream.handle(), graph); // leaves the stream usable again
            if (rc == cudaSuccess && !graph.isNull()) {
                cudaGraphDestroy(graph);
            }
            Cuda.clearLastError();
            throw e;
        }
        int rc = cudaStreamEndCapture(stream.handle(), graph);
        if (rc != cudaSuccess) {
            Cuda.clearLastError();
            Cuda.check(rc, "cudaStreamEndCapture", what);
        }
        CUgraphExec_st exec = new CUgraphExec_st();
        rc = cudaGraphInstantiate(exec, graph, 0L);
        if (rc != cudaSuccess) {
            cudaGraphDestroy(graph);
            Cuda.check(rc, "cudaGraphInstantiate", what);
        }
        return new CudaGraph(graph, exec, what);
    }

    /** Queues one replay on {@code stream}. */
    public void launch(Stream stream) {
        checkOpen();
        Cuda.check(cudaGraphLaunch(exec, stream.handle()), "cudaGraphLaunch", what);
    }

    @Override
    protected String describe() {
        return "CudaGraph(" + what + ")";
    }

    @Override
    protected void release() {
        int a = cudaGraphExecDestroy(exec);
        int b = cudaGraphDestroy(graph);
        Cuda.check(a, "cudaGraphExecDestroy", what);
        Cuda.check(b, "cudaGraphDestroy", what);
    }
}
