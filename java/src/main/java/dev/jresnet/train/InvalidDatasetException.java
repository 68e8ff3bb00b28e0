package dev.jresnet.train;

import java.io.IOException;

/** A dataset folder that cannot be used as it is laid out; the message names the folder and what is wrong. */
public class InvalidDatasetException extends IOException {
    private static final long serialVersionUID = 1L;

    public InvalidDatasetException(String message) {
        super(message);
    }

    public InvalidDatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
