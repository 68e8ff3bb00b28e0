package dev.jresnet.cuda;

import org.bytedeco.javacpp.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * Page-locked host memory ({@code cudaMallocHost}) for fast, truly asynchronous copies, seen from Java as a
 * direct buffer in native byte order. The buffers stay valid only until {@link #close()}: do not keep them.
 */
public final class PinnedBuffer extends CudaResource {
    private static final java.util.concurrent.atomic.AtomicLong ALLOCATIONS = new java.util.concurrent.atomic.AtomicLong();

    private final Pointer block;
    private final long bytes;
    private final String purpose;

    private PinnedBuffer(Pointer block, long bytes, String purpose) {
        this.block = block;
        this.bytes = bytes;
        this.purpose = purpose;
    }

    public static PinnedBuffer allocate(long bytes, String purpose) {
        if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("pinned buffer of " + bytes + " bytes for " + purpose
                    + ": must be 1 .. 2^31-1 bytes (one Java buffer)");
        }
        Pointer p = new Pointer();
        int status = CaptureLock.exclusive(() -> cudaMallocHost(p, bytes));
        if (status != cudaSuccess) {
            Cuda.clearLastError();
            throw new CudaException(CudaException.Library.CUDA_RUNTIME, "cudaMallocHost", status,
                    Cuda.errorString(status), "requested " + Checks.bytes(bytes) + " of pinned host memory for " + purpose);
        }
        ALLOCATIONS.incrementAndGet();
        return new PinnedBuffer(p, bytes, purpose);
    }

    /** How many successful {@code cudaMallocHost}s this process made through this class. */
    public static long allocationCount() {
        return ALLOCATIONS.get();
    }

    public long bytes() {
        return bytes;
    }

    /** The whole buffer as bytes, native order, position 0. */
    public ByteBuffer asByteBuffer() {
        checkOpen();
        return new RawPointer(block.address(), bytes).asByteBuffer().order(ByteOrder.nativeOrder());
    }

    public FloatBuffer asFloatBuffer() {
        return asByteBuffer().asFloatBuffer();
    }

    /** As 16-bit values (fp16 bits). */
    public ShortBuffer asShortBuffer() {
        return asByteBuffer().asShortBuffer();
    }

    /** A pointer to the whole buffer for preset calls. */
    public Pointer pointer() {
        return pointer(0, bytes);
    }

    /** A pointer to [offset, offset + n). */
    public Pointer pointer(long offset, long n) {
        checkOpen();
        if (offset < 0 || n < 0 || offset > bytes || n > bytes - offset) {
            throw new IndexOutOfBoundsException("[" + offset + ", " + offset + " + " + n + ") outside pinned "
                    + purpose + " of " + bytes + " bytes");
        }
        return new RawPointer(block.address() + offset, n);
    }

    @Override
    protected String describe() {
        return "PinnedBuffer(" + Checks.bytes(bytes) + " for " + purpose + ")";
    }

    @Override
    protected void release() {
        Cuda.check(cudaFreeHost(block), "cudaFreeHost", describe());
    }
}
