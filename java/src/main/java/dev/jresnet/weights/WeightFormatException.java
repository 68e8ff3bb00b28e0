package dev.jresnet.weights;

import java.io.IOException;

/**
 * A weight file that cannot be read as what it claims to be. Messages name the file and, where one is
 * involved, the tensor, with the expected and the found value, because the reader is usually far from
 * whoever produced the file and the message is all they get.
 */
public class WeightFormatException extends IOException {
    public WeightFormatException(String message) {
        super(message);
    }

    public WeightFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
