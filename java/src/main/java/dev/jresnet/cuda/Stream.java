package dev.jresnet.cuda;

import org.bytedeco.cuda.cudart.CUstream_st;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * A CUDA stream ({@code cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)}): it does not synchronise
 * with the legacy default stream, so every copy and launch of this project names its stream.
 */
public final class Stream extends CudaResource {
    private final CUstream_st stream;

    private Stream(CUstream_st stream) {
        this.stream = stream;
    }

    public static Stream create() {
        CUstream_st s = new CUstream_st();
        Cuda.check(CaptureLock.exclusive(() -> cudaStreamCreateWithFlags(s, cudaStreamNonBlocking)),
                "cudaStreamCreateWithFlags",
                "cudaStreamNonBlocking");
        return new Stream(s);
    }

    /** The {@code cudaStream_t} (also a driver API {@code CUstream}) for preset calls. */
    public CUstream_st handle() {
        checkOpen();
        return stream;
    }

    /** Waits until all work queued on this stream is done ({@code cudaStreamSynchronize}). */
    public void synchronize() {
        checkOpen();
        Cuda.check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    }

    @Override
    protected String describe() {
        return "Stream@" + Long.toHexString(stream.address());
    }

    @Override
    protected void release() {
        Cuda.check(cudaStreamDestroy(stream), "cudaStreamDestroy");
    }
}
