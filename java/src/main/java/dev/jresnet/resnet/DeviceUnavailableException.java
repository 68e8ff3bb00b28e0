package dev.jresnet.resnet;

/** The requested device cannot run the model; the message says why and what to install. */
public final class DeviceUnavailableException extends RuntimeException {
    public DeviceUnavailableException(String message) {
        super(message);
    }
}
