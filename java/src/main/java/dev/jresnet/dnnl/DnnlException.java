package dev.jresnet.dnnl;

/** A oneDNN call failed: the message names the call, oneDNN's status and the shapes it was given. */
public final class DnnlException extends RuntimeException {
    public DnnlException(String message) {
        super(message);
    }
}
