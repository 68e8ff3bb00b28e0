package dev.jresnet.cuda;

/**
 * A grow-only device buffer for cuDNN and cuBLAS workspaces: {@link #ensure(long)} reallocates only when
 * asked for more than it holds. Before freeing a smaller block it waits for its stream, the stream on which
 * the block was used; buffers returned before a growth are dead afterwards (using them throws).
 */
public final class Workspace extends CudaResource {
    private final Stream stream;
    private final String purpose;
    private DeviceMemory memory;

    public Workspace(Stream stream, String purpose) {
        this.stream = stream;
        this.purpose = purpose;
    }

    /** A buffer of at least {@code bytes} (exactly the current block); for 0 bytes and no block, a null buffer. */
    public synchronized DeviceBuffer ensure(long bytes) {
        checkOpen();
        if (bytes < 0) {
            throw new IllegalArgumentException("negative workspace size " + bytes + " for " + purpose);
        }
        if (memory == null || memory.bytes() < bytes) {
            if (bytes == 0) {
                return new DeviceBuffer(this, 0, 0, purpose + " (empty)");
            }
            long size = DeviceArena.align(bytes);
            if (memory != null) {
                stream.synchronize(); // the old block may still be in use by queued work
                memory.close();
                memory = null;
            }
            memory = DeviceMemory.allocate(size, "workspace for " + purpose);
        }
        return memory.buffer();
    }

    /** The bytes currently held (0 before the first non-empty ensure). */
    public synchronized long bytes() {
        return memory == null ? 0 : memory.bytes();
    }

    @Override
    protected String describe() {
        return "Workspace(" + purpose + ", " + Checks.bytes(memory == null ? 0 : memory.bytes()) + ")";
    }

    @Override
    protected synchronized void release() {
        if (memory != null) {
            memory.close();
            memory = null;
        }
    }
}
