package dev.jresnet.cuda;

import org.bytedeco.cuda.cublas.cublasContext;

import static org.bytedeco.cuda.global.cublas.*;

/** A cuBLAS handle ({@code cublasCreate}) bound to a stream, with its math mode (TF32 on or off). */
public final class CublasHandle extends CudaResource {
    /** cuBLAS's {@code cublasMath_t} choices that matter here. */
    public enum MathMode {
        /** CUBLAS_DEFAULT_MATH: fp32 GEMMs in fp32 (no TF32 unless NVIDIA_TF32_OVERRIDE forces it). */
        DEFAULT(CUBLAS_DEFAULT_MATH),
        /** CUBLAS_TF32_TENSOR_OP_MATH: fp32 GEMMs may round inputs to TF32 to use tensor cores. */
        TF32(CUBLAS_TF32_TENSOR_OP_MATH),
        /** CUBLAS_PEDANTIC_MATH: fp32 everywhere, no reduced-precision anything: for exact comparisons. */
        PEDANTIC(CUBLAS_PEDANTIC_MATH);

        private final int cublasValue;

        MathMode(int cublasValue) {
            this.cublasValue = cublasValue;
        }

        public int cublasValue() {
            return cublasValue;
        }
    }

    private final cublasContext handle;
    private MathMode mathMode = MathMode.DEFAULT;
    private DeviceBuffer workspace;

    private CublasHandle(cublasContext handle) {
        this.handle = handle;
    }

    public static CublasHandle create(Stream stream) {
        cublasContext h = new cublasContext();
        Cublas.check(CaptureLock.exclusive(() -> cublasCreate_v2(h)), "cublasCreate");
        CublasHandle handle = new CublasHandle(h);
        try {
            handle.setStream(stream);
        } catch (RuntimeException e) {
            handle.close();
            throw e;
        }
        return handle;
    }

    /**
     * Binds the handle to {@code stream}. {@code cublasSetStream} resets the workspace to cuBLAS's default pool
     * (cuBLAS documentation of cublasSetStream), which would allocate under graph capture: the workspace given to
     * {@link #setWorkspace} is set again.
     */
    public void setStream(Stream stream) {
        checkOpen();
        Cublas.check(cublasSetStream_v2(handle, stream.handle()), "cublasSetStream");
        if (workspace != null) {
            setWorkspace(workspace);
        }
    }

    /**
     * Gives cuBLAS its workspace ({@code cublasSetWorkspace}), so that it never allocates on its own: needed
     * for CUDA graph capture. The buffer must outlive the handle's use.
     */
    public void setWorkspace(DeviceBuffer workspace) {
        checkOpen();
        Cublas.check(cublasSetWorkspace_v2(handle, workspace.pointer(), workspace.bytes()), "cublasSetWorkspace",
                workspace);
        this.workspace = workspace;
    }

    public void setMathMode(MathMode mode) {
        checkOpen();
        Cublas.check(cublasSetMathMode(handle, mode.cublasValue()), "cublasSetMathMode", mode);
        this.mathMode = mode;
    }

    /** TF32 on ({@link MathMode#TF32}) or off ({@link MathMode#DEFAULT}). */
    public void setTf32(boolean enabled) {
        setMathMode(enabled ? MathMode.TF32 : MathMode.DEFAULT);
    }

    public MathMode mathMode() {
        return mathMode;
    }

    /** {@code cublasGetVersion} for this handle, e.g. 130100. */
    public int version() {
        int[] v = {0};
        Cublas.check(cublasGetVersion_v2(handle(), v), "cublasGetVersion");
        return v[0];
    }

    public cublasContext handle() {
        checkOpen();
        return handle;
    }

    @Override
    protected String describe() {
        return "CublasHandle@" + Long.toHexString(handle.address());
    }

    @Override
    protected void release() {
        Cublas.check(cublasDestroy_v2(handle), "cublasDestroy");
    }
}
