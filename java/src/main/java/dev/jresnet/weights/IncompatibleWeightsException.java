package dev.jresnet.weights;

import java.io.IOException;

/** A weight file that was read fine but does not fit the network: missing, unexpected, mis-shaped or non-finite tensors. */
public final class IncompatibleWeightsException extends IOException {
    public IncompatibleWeightsException(String message) {
        super(message);
    }
}
