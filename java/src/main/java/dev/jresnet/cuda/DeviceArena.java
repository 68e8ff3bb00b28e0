package dev.jresnet.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * One device allocation cut into 256-byte-aligned slices: all the weights of a network, or the
 * activations of a planned forward pass. Slices are never freed one by one; {@link #reset()} starts over
 * (earlier slices then alias new ones) and {@link #close()} frees the whole block.
 */
public final class DeviceArena extends CudaResource {
    /** Alignment of every slice (cudaMalloc itself returns at least 256-byte-aligned blocks). */
    public static final int ALIGNMENT = 256;

    /** One slice handed out: its name, offset and size (for reports of what the arena holds). */
    public record Slice(String what, long offset, long bytes) {}

    private final DeviceMemory memory;
    private final List<Slice> slices = new ArrayList<>();
    private long used;

    private DeviceArena(DeviceMemory memory) {
        this.memory = memory;
    }

    /** Allocates {@code capacity} bytes in one {@code cudaMalloc}. */
    public static DeviceArena create(long capacity, String purpose) {
        return new DeviceArena(DeviceMemory.allocate(capacity, purpose));
    }

    /** {@code bytes} rounded up to a multiple of {@link #ALIGNMENT}. */
    public static long align(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size " + bytes);
        }
        return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** The capacity an arena needs to hold slices of these sizes, in this order. */
    public static long sizeFor(long... sizes) {
        long total = 0;
        for (long s : sizes) {
            total += align(s);
        }
        return total;
    }

    /**
     * The next {@code bytes} of the arena, at a 256-byte-aligned offset. When the arena is full this throws
     * a CudaException (status cudaErrorMemoryAllocation) naming the request, {@code what}, and the usage.
     */
    public synchronized DeviceBuffer slice(long bytes, String what) {
        checkOpen();
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size " + bytes + " for " + what);
        }
        long offset = used;
        if (bytes > memory.bytes() - offset) {
            throw new CudaException(CudaException.Library.JRESNET, "DeviceArena.slice", org.bytedeco.cuda.global.cudart.cudaErrorMemoryAllocation,
                    "arena exhausted", "requested " + Checks.bytes(bytes) + " for " + what + " in arena "
                    + memory.purpose() + ": " + used + " of " + memory.bytes() + " bytes used");
        }
        used = Math.min(memory.bytes(), offset + align(bytes));
        slices.add(new Slice(what, offset, bytes));
        return new DeviceBuffer(this, memory.address() + offset, bytes, what);
    }

    /** Bytes handed out so far, alignment padding included. */
    public synchronized long used() {
        return used;
    }

    public long capacity() {
        return memory.bytes();
    }

    public synchronized long remaining() {
        return memory.bytes() - used;
    }

    public synchronized List<Slice> slices() {
        return List.copyOf(slices);
    }

    /** Forgets every slice; the memory is reused from offset 0 (the caller knows old slices are dead). */
    public synchronized void reset() {
        checkOpen();
        used = 0;
        slices.clear();
    }

    /** The whole block. */
    public DeviceBuffer buffer() {
        checkOpen();
        return new DeviceBuffer(this, memory.address(), memory.bytes(), memory.purpose());
    }

    @Override
    protected String describe() {
        return "DeviceArena(" + Checks.bytes(memory.bytes()) + " for " + memory.purpose() + ")";
    }

    @Override
    protected void release() {
        memory.close();
    }
}
