package dev.jresnet.bench;

/** A peer engine cannot run here (no Python, no torch, no ONNX Runtime native library...); the message says why. */
final class PeerUnavailableException extends Exception {
    PeerUnavailableException(String message) {
        super(message);
    }

    PeerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
