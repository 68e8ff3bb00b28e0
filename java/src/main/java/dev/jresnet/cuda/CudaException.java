package dev.jresnet.cuda;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.cuda.global.nvrtc;

/**
 * A failed CUDA, cuDNN, cuBLAS or NVRTC call: which library, which call, the status code, the library's own
 * error string, and a context string (shapes, algorithm, bytes requested, ...).
 * (The status constants used here are compile-time constants, inlined by javac: nothing native is loaded.)
 * The message reads like {@code cudnnSetTensor4dDescriptor failed: CUDNN_STATUS_BAD_PARAM (2) [n=-1, c=3]}.
 */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The library whose call failed. */
    public enum Library { CUDA_RUNTIME, CUDA_DRIVER, CUDNN, CUBLAS, NVRTC, JRESNET }

    private final Library library;
    private final String call;
    private final int status;
    private final String errorString;
    private final String context;

    public CudaException(Library library, String call, int status, String errorString, String context) {
        this(library, call, status, errorString, context, null);
    }

    public CudaException(Library library, String call, int status, String errorString, String context, Throwable cause) {
        super(format(call, status, errorString, context), cause);
        this.library = library;
        this.call = call;
        this.status = status;
        this.errorString = errorString;
        this.context = context == null ? "" : context;
    }

    static String format(String call, int status, String errorString, String context) {
        StringBuilder sb = new StringBuilder();
        sb.append(call).append(" failed: ").append(errorString).append(" (").append(status).append(')');
        if (context != null && !context.isEmpty()) {
            sb.append(" [").append(context).append(']');
        }
        return sb.toString();
    }

    public Library library() {
        return library;
    }

    /** The C function that failed, for example {@code cudaMalloc}. */
    public String call() {
        return call;
    }

    /** The library's status code (cudaError_t, CUresult, cudnnStatus_t, cublasStatus_t, nvrtcResult). */
    public int status() {
        return status;
    }

    /** The library's text for the status, for example "out of memory" or "CUDNN_STATUS_BAD_PARAM". */
    public String errorString() {
        return errorString;
    }

    /** What the call was doing: shapes, algorithm, bytes and purpose of an allocation; may be empty. */
    public String context() {
        return context;
    }

    /** True for the out-of-memory status of any of the libraries. */
    public boolean isOutOfMemory() {
        return switch (library) {
            case CUDA_RUNTIME, JRESNET -> status == cudart.cudaErrorMemoryAllocation;
            case CUDA_DRIVER -> status == cudart.CUDA_ERROR_OUT_OF_MEMORY;
            case CUDNN -> status == cudnn.CUDNN_STATUS_ALLOC_FAILED;
            case CUBLAS -> status == cublas.CUBLAS_STATUS_ALLOC_FAILED;
            case NVRTC -> status == nvrtc.NVRTC_ERROR_OUT_OF_MEMORY;
        };
    }
}
