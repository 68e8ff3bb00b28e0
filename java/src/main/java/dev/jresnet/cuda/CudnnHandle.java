package dev.jresnet.cuda;

import org.bytedeco.cuda.cudnn.cudnnContext;

import static org.bytedeco.cuda.global.cudnn.*;

/** A cuDNN handle ({@code cudnnCreate}) whose work goes to one stream ({@code cudnnSetStream}). */
public final class CudnnHandle extends CudaResource {
    private final cudnnContext handle;
    private Stream stream;

    private CudnnHandle(cudnnContext handle, Stream stream) {
        this.handle = handle;
        this.stream = stream;
    }

    public static CudnnHandle create(Stream stream) {
        cudnnContext h = new cudnnContext();
        Cudnn.check(CaptureLock.exclusive(() -> cudnnCreate(h)), "cudnnCreate");
        CudnnHandle handle = new CudnnHandle(h, stream);
        try {
            handle.setStream(stream);
        } catch (RuntimeException e) {
            handle.close();
            throw e;
        }
        return handle;
    }

    /** Binds the handle to {@code stream}. */
    public void setStream(Stream stream) {
        checkOpen();
        Cudnn.check(cudnnSetStream(handle, stream.handle()), "cudnnSetStream");
        this.stream = stream;
    }

    public Stream stream() {
        checkOpen();
        return stream;
    }

    /** The {@code cudnnHandle_t} for preset calls. */
    public cudnnContext handle() {
        checkOpen();
        return handle;
    }

    @Override
    protected String describe() {
        return "CudnnHandle@" + Long.toHexString(handle.address());
    }

    @Override
    protected void release() {
        Cudnn.check(cudnnDestroy(handle), "cudnnDestroy");
    }
}
