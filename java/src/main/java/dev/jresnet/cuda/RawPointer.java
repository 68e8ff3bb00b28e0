package dev.jresnet.cuda;

import org.bytedeco.javacpp.Pointer;

/**
 * A non-owning JavaCPP pointer to an address (device or pinned host memory) with a byte capacity, handed to
 * the preset functions. It has no deallocator (its owner frees the memory) and its element size is one
 * byte, so limit and capacity are byte counts.
 */
final class RawPointer extends Pointer {
    RawPointer(long address, long bytes) {
        this.address = address;
        this.position = 0;
        this.limit = bytes;
        this.capacity = bytes;
    }

    @Override
    public int sizeof() {
        return 1;
    }
}
