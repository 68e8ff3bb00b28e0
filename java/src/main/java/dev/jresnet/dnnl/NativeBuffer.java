package dev.jresnet.dnnl;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/** A block of native memory starting on a 64-byte boundary (oneDNN's advice for its buffers). */
final class NativeBuffer implements AutoCloseable {
    private final BytePointer block;
    /** The aligned start, as oneDNN takes it. */
    final Pointer data;
    /** The same start, for copying floats in and out. */
    final FloatPointer floats;
    final long bytes;

    NativeBuffer(long bytes, String what) {
        this.bytes = bytes;
        try {
            this.block = new BytePointer(bytes + 64);
        } catch (OutOfMemoryError e) {
            throw new DnnlException("out of native memory: " + bytes + " bytes for " + what + " (" + e.getMessage()
                    + ")");
        }
        if (block.isNull()) {
            throw new DnnlException("out of native memory: " + bytes + " bytes for " + what);
        }
        this.data = new Address((block.address() + 63) & ~63L);
        this.floats = new FloatPointer(data);
    }

    @Override
    public void close() {
        block.close();
    }

    /** A view of native memory at an address, owned elsewhere. */
    private static final class Address extends Pointer {
        Address(long address) {
            this.address = address;
        }
    }
}
