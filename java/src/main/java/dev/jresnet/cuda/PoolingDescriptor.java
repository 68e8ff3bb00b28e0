package dev.jresnet.cuda;

import org.bytedeco.cuda.cudnn.cudnnPoolingStruct;

import static org.bytedeco.cuda.global.cudnn.*;

/** A 2-D cuDNN pooling descriptor ({@code cudnnSetPooling2dDescriptor}); ResNet's stem uses 3x3/2 max pooling. */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class PoolingDescriptor extends CudaResource {
    private final cudnnPoolingStruct desc;
    private final String params;

    private PoolingDescriptor(cudnnPoolingStruct desc, String params) {
        this.desc = desc;
        this.params = params;
    }

    /** {@code mode} is a {@code CUDNN_POOLING_*} constant; NaNs propagate. */
    public static PoolingDescriptor create(int mode, int windowH, int windowW, int padH, int padW, int strideH,
                                           int strideW) {
        String params = "mode=" + mode + " window=" + windowH + "x" + windowW + " pad=" + padH + "x" + padW
                + " stride=" + strideH + "x" + strideW;
        cudnnPoolingStruct d = new cudnnPoolingStruct();
        Cudnn.check(cudnnCreatePoolingDescriptor(d), "cudnnCreatePoolingDescriptor");
        PoolingDescriptor p = new PoolingDescriptor(d, params);
        try {
            Cudnn.check(cudnnSetPooling2dDescriptor(d, mode, CUDNN_PROPAGATE_NAN, windowH, windowW, padH, padW,
                    strideH, strideW), "cudnnSetPooling2dDescriptor", params);
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        return p;
    }

    /** Max pooling (CUDNN_POOLING_MAX), square window, padding and stride. */
    public static PoolingDescriptor max(int window, int pad, int stride) {
        return create(CUDNN_POOLING_MAX, window, window, pad, pad, stride, stride);
    }

    /** {@code cudnnGetPooling2dForwardOutputDim}: {n, c, h, w}. */
    public int[] outputDim(TensorDescriptor input) {
        int[] n = {0}, c = {0}, h = {0}, w = {0};
        Cudnn.check(cudnnGetPooling2dForwardOutputDim(handle(), input.handle(), n, c, h, w),
                "cudnnGetPooling2dForwardOutputDim", input.shape(), params);
        return new int[] {n[0], c[0], h[0], w[0]};
    }

    public cudnnPoolingStruct handle() {
        checkOpen();
        return desc;
    }

    @Override
    protected String describe() {
        return "PoolingDescriptor(" + params + ")";
    }

    @Override
    protected void release() {
        Cudnn.check(cudnnDestroyPoolingDescriptor(desc), "cudnnDestroyPoolingDescriptor");
    }
}
