package dev.jresnet.cuda;

import org.bytedeco.javacpp.Pointer;

import static org.bytedeco.cuda.global.cudart.*;

/** One {@code cudaMalloc}'d block of device memory, freed by {@link #close()}. */
public final class DeviceMemory extends CudaResource {
    private static final java.util.concurrent.atomic.AtomicLong ALLOCATIONS = new java.util.concurrent.atomic.AtomicLong();

    private final Pointer block;
    private final long bytes;
    private final String purpose;
    private final DeviceBuffer buffer;

    private DeviceMemory(Pointer block, long bytes, String purpose) {
        this.block = block;
        this.bytes = bytes;
        this.purpose = purpose;
        this.buffer = new DeviceBuffer(this, block.address(), bytes, purpose);
    }

    /**
     * {@code cudaMalloc(&p, bytes)}. Out of memory throws a CudaException whose message names the bytes
     * requested, {@code purpose}, and the device's free memory at that moment.
     */
    public static DeviceMemory allocate(long bytes, String purpose) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("cannot allocate " + bytes + " bytes for " + purpose);
        }
        Pointer p = new Pointer();
        int status = CaptureLock.exclusive(() -> cudaMalloc(p, bytes));
        if (status != cudaSuccess) {
            Cuda.clearLastError();
            throw new CudaException(CudaException.Library.CUDA_RUNTIME, "cudaMalloc", status, Cuda.errorString(status),
                    "requested " + Checks.bytes(bytes) + " for " + purpose + freeMemoryNote());
        }
        ALLOCATIONS.incrementAndGet();
        return new DeviceMemory(p, bytes, purpose);
    }

    /**
     * How many successful {@code cudaMalloc}s this process made through this class (every device allocation
     * of jresnet: arenas, workspaces, device tensors). Tests read it before and after a forward pass.
     */
    public static long allocationCount() {
        return ALLOCATIONS.get();
    }

    static String freeMemoryNote() {
        try {
            return "; device has " + CudaContext.memoryInfoOfCurrentDevice();
        } catch (RuntimeException e) {
            return "";
        }
    }

    public long bytes() {
        return bytes;
    }

    public String purpose() {
        return purpose;
    }

    /** The whole block as a buffer (valid until this is closed). */
    public DeviceBuffer buffer() {
        checkOpen();
        return buffer;
    }

    /** The block's device address. */
    public long address() {
        checkOpen();
        return block.address();
    }

    @Override
    protected String describe() {
        return "DeviceMemory(" + Checks.bytes(bytes) + " for " + purpose + ")";
    }

    @Override
    protected void release() {
        Cuda.check(cudaFree(block), "cudaFree", describe());
    }
}
