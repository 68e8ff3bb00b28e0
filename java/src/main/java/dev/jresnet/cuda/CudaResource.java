package dev.jresnet.cuda;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Base of every owner of a native CUDA, cuDNN or cuBLAS object: {@link #close()} frees it exactly once (a
 * second close does nothing), and any use after close throws {@link IllegalStateException}.
 */
public abstract class CudaResource implements AutoCloseable {
    private final AtomicBoolean closed = new AtomicBoolean();

    protected CudaResource() {}

    /** What this is, for messages: "DeviceMemory(1048576 bytes for conv1 weights)". */
    protected abstract String describe();

    /** Frees the native object; called once, by the first {@link #close()}. */
    protected abstract void release();

    public final boolean isClosed() {
        return closed.get();
    }

    /** Throws IllegalStateException when closed; every method that touches the native object calls it. */
    public final void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException(describe() + " is closed");
        }
    }

    @Override
    public final void close() {
        if (closed.compareAndSet(false, true)) {
            CaptureLock.exclusive(this::release); // freeing may synchronise the device: never during a capture
        }
    }

    @Override
    public String toString() {
        return describe() + (isClosed() ? " (closed)" : "");
    }
}
