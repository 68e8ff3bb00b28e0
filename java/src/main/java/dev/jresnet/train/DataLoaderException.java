package dev.jresnet.train;

/**
 * A failure in a loader worker other than an undecodable image (those are skipped): a transform that
 * threw, an out-of-memory error, a shape mismatch. The message names the epoch, sample and file.
 */
public class DataLoaderException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DataLoaderException(String message, Throwable cause) {
        super(message, cause);
    }
}
