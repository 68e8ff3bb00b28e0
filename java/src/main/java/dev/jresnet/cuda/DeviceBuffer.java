package dev.jresnet.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;

import java.util.Objects;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * A range of device memory that something else owns: a whole {@link DeviceMemory}, a slice of a
 * {@link DeviceArena}, or the current block of a {@link Workspace}. Using it after its owner is closed
 * throws IllegalStateException. All copies are ordered on the given {@link Stream}; the array copies also
 * wait for it (they return with the data moved), the pinned-buffer copies do not.
 */
public final class DeviceBuffer {
    private final CudaResource owner;
    private final long address;
    private final long bytes;
    private final String label;

    DeviceBuffer(CudaResource owner, long address, long bytes, String label) {
        this.owner = Objects.requireNonNull(owner);
        this.address = address;
        this.bytes = bytes;
        this.label = label;
    }

    /** The device address (for kernel arguments); checks that the owner is open. */
    public long address() {
        owner.checkOpen();
        return address;
    }

    public long bytes() {
        return bytes;
    }

    /** What this memory holds, as given at allocation. */
    public String label() {
        return label;
    }

    /** A non-owning JavaCPP pointer for preset calls (cuDNN data pointers, cudaMemcpy, ...). */
    public Pointer pointer() {
        owner.checkOpen();
        return new RawPointer(address, bytes);
    }

    /** The sub-range [offset, offset + length) of this buffer, owned by the same owner. */
    public DeviceBuffer slice(long offset, long length) {
        owner.checkOpen();
        checkRange("slice", offset, length);
        return new DeviceBuffer(owner, address + offset, length, label + "[" + offset + "+" + length + "]");
    }

    // ---- host arrays (waits for the stream) ----

    public void upload(Stream stream, float[] src) {
        try (FloatPointer host = new FloatPointer(src)) {
            copyIn(stream, host, 4L * src.length);
        }
    }

    public void upload(Stream stream, short[] src) {
        try (ShortPointer host = new ShortPointer(src)) {
            copyIn(stream, host, 2L * src.length);
        }
    }

    public void upload(Stream stream, byte[] src) {
        try (BytePointer host = new BytePointer(src)) {
            copyIn(stream, host, src.length);
        }
    }

    public void download(Stream stream, float[] dst) {
        try (FloatPointer host = new FloatPointer(dst.length)) {
            copyOut(stream, host, 4L * dst.length);
            host.get(dst);
        }
    }

    public void download(Stream stream, short[] dst) {
        try (ShortPointer host = new ShortPointer(dst.length)) {
            copyOut(stream, host, 2L * dst.length);
            host.get(dst);
        }
    }

    public void download(Stream stream, byte[] dst) {
        try (BytePointer host = new BytePointer(dst.length)) {
            copyOut(stream, host, dst.length);
            host.get(dst);
        }
    }

    private void copyIn(Stream stream, Pointer host, long n) {
        checkRange("upload", 0, n);
        Cuda.check(cudaMemcpyAsync(pointer(), host, n, cudaMemcpyHostToDevice, stream.handle()),
                "cudaMemcpyAsync", "host to device", Checks.bytes(n), "into " + label);
        stream.synchronize(); // the temporary host copy is freed when this returns
    }

    private void copyOut(Stream stream, Pointer host, long n) {
        checkRange("download", 0, n);
        Cuda.check(cudaMemcpyAsync(host, pointer(), n, cudaMemcpyDeviceToHost, stream.handle()),
                "cudaMemcpyAsync", "device to host", Checks.bytes(n), "from " + label);
        stream.synchronize();
    }

    // ---- asynchronous copies (no wait) ----

    /** Queues a copy of {@code n} bytes from {@code src} at srcOffset to this buffer at dstOffset. */
    public void copyFrom(Stream stream, PinnedBuffer src, long srcOffset, long dstOffset, long n) {
        checkRange("copyFrom", dstOffset, n);
        Pointer host = src.pointer(srcOffset, n);
        Cuda.check(cudaMemcpyAsync(at(dstOffset, n), host, n, cudaMemcpyHostToDevice, stream.handle()),
                "cudaMemcpyAsync", "pinned host to device", Checks.bytes(n), "into " + label);
    }

    /** Queues a copy of {@code n} bytes from this buffer at srcOffset to {@code dst} at dstOffset. */
    public void copyTo(Stream stream, PinnedBuffer dst, long srcOffset, long dstOffset, long n) {
        checkRange("copyTo", srcOffset, n);
        Pointer host = dst.pointer(dstOffset, n);
        Cuda.check(cudaMemcpyAsync(host, at(srcOffset, n), n, cudaMemcpyDeviceToHost, stream.handle()),
                "cudaMemcpyAsync", "device to pinned host", Checks.bytes(n), "from " + label);
    }

    /** Queues a device-to-device copy of all of {@code src} to the start of this buffer. */
    public void copyFrom(Stream stream, DeviceBuffer src) {
        checkRange("copyFrom", 0, src.bytes);
        Cuda.check(cudaMemcpyAsync(pointer(), src.pointer(), src.bytes, cudaMemcpyDeviceToDevice, stream.handle()),
                "cudaMemcpyAsync", "device to device", Checks.bytes(src.bytes), src.label + " into " + label);
    }

    /** Queues setting every byte to {@code value} ({@code cudaMemsetAsync}). */
    public void fill(Stream stream, int value) {
        Cuda.check(cudaMemsetAsync(pointer(), value, bytes, stream.handle()), "cudaMemsetAsync", label);
    }

    private Pointer at(long offset, long n) {
        owner.checkOpen();
        return new RawPointer(address + offset, n);
    }

    private void checkRange(String what, long offset, long n) {
        if (offset < 0 || n < 0 || offset > bytes || n > bytes - offset) {
            throw new IndexOutOfBoundsException(what + ": [" + offset + ", " + offset + " + " + n + ") outside "
                    + label + " of " + bytes + " bytes");
        }
    }

    @Override
    public String toString() {
        return "DeviceBuffer(" + label + ", " + Checks.bytes(bytes) + ")";
    }
}
