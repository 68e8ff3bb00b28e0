package dev.jresnet.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_NCHW;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_NHWC;

/** Memory layout of a 4-D tensor or filter (cuDNN's {@code cudnnTensorFormat_t}). */
public enum Layout {
    /** Planes: [N][C][H][W] (filters [K][C][R][S]); the CPU reference's layout. */
    NCHW(CUDNN_TENSOR_NCHW),
    /** Interleaved channels: [N][H][W][C] (filters [K][R][S][C]); what tensor cores want for fp16. */
    NHWC(CUDNN_TENSOR_NHWC);

    private final int cudnnFormat;

    Layout(int cudnnFormat) {
        this.cudnnFormat = cudnnFormat;
    }

    public int cudnnFormat() {
        return cudnnFormat;
    }
}
