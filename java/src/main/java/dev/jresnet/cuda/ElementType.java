package dev.jresnet.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_FLOAT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_HALF;

/** Element type on the GPU (cuDNN's {@code cudnnDataType_t}). */
public enum ElementType {
    FP32(CUDNN_DATA_FLOAT, 4),
    FP16(CUDNN_DATA_HALF, 2);

    private final int cudnnType;
    private final int bytes;

    ElementType(int cudnnType, int bytes) {
        this.cudnnType = cudnnType;
        this.bytes = bytes;
    }

    public int cudnnType() {
        return cudnnType;
    }

    public int bytes() {
        return bytes;
    }
}
