package dev.jresnet.onnx;

import java.io.IOException;

/** An ONNX file that cannot be read, or holds a graph jresnet cannot map onto ResNet-50. */
public final class OnnxFormatException extends IOException {
    public OnnxFormatException(String message) {
        super(message);
    }
}
