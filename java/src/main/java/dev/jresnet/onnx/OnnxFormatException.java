package dev.jresnet.onnx;

import java.io.IOException;

/** An ONNX file that cannot be read, or holds a graph jresnet cannot map onto a ResNet of the family. */
public final class OnnxFormatException extends IOException {
    public OnnxFormatException(String message) {
        super(message);
    }
}
