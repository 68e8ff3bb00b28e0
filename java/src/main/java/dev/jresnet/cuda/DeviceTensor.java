package dev.jresnet.cuda;

import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import java.nio.FloatBuffer;
import java.util.Arrays;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * A dense fp32 tensor in device memory (row-major: NCHW for network inputs, [N, classes] for logits) that
 * stays on the GPU: fill it from your own CUDA code through {@link #address()} (then synchronise your
 * stream), or with {@link #upload}; the model reads and writes it without a host round trip
 * ({@link CudaResNet#logits(DeviceTensor, DeviceTensor)}). Close it when done; it is also closed with the
 * model that allocated it.
 */
public final class DeviceTensor extends CudaResource {
    private final DeviceMemory memory;
    private final int[] dims;
    private final long elements;

    DeviceTensor(int[] dims, String purpose) {
        long n = 1;
        for (int d : dims) {
            if (d < 1) {
                throw new IllegalArgumentException("device tensor dimensions must be >= 1, got " + Arrays.toString(dims));
            }
            n = Math.multiplyExact(n, d);
        }
        this.dims = dims.clone();
        this.elements = n;
        this.memory = DeviceMemory.allocate(4 * n, purpose + " " + Arrays.toString(dims));
    }

    public int[] dims() {
        return dims.clone();
    }

    public int dim(int i) {
        return dims[i];
    }

    public long elements() {
        return elements;
    }

    /** The device address of element 0 (fp32, row-major). */
    public long address() {
        checkOpen();
        return memory.address();
    }

    /** The memory as a buffer, for the engine's own copies. */
    public DeviceBuffer buffer() {
        checkOpen();
        return memory.buffer();
    }

    /** Copies {@code elements()} floats from {@code src} (from its position; the position is unchanged). */
    public void upload(FloatBuffer src) {
        checkOpen();
        requireRemaining(src, "upload source");
        copy(src, true);
    }

    /** Copies the tensor into {@code dst} at its position (the position is unchanged). */
    public void download(FloatBuffer dst) {
        checkOpen();
        requireRemaining(dst, "download destination");
        copy(dst, false);
    }

    /** The whole tensor as a new array. */
    public float[] toArray() {
        float[] out = new float[Math.toIntExact(elements)];
        download(FloatBuffer.wrap(out));
        return out;
    }

    private void requireRemaining(FloatBuffer b, String what) {
        if (b.remaining() < elements) {
            throw new IllegalArgumentException(what + " has " + b.remaining() + " floats remaining, device tensor "
                    + Arrays.toString(dims) + " needs " + elements);
        }
    }

    /** cudaMemcpy, then waits for the legacy default stream, so that the engine's streams see the data. */
    private void copy(FloatBuffer host, boolean toDevice) {
        long bytes = 4 * elements;
        FloatBuffer view = host.duplicate();
        if (view.isDirect()) {
            try (FloatPointer p = new FloatPointer(view)) {
                memcpy(p, bytes, toDevice);
            }
        } else {
            try (FloatPointer p = new FloatPointer(elements)) {
                if (toDevice) {
                    float[] tmp = new float[Math.toIntExact(elements)];
                    view.get(tmp);
                    p.put(tmp);
                    memcpy(p, bytes, true);
                } else {
                    memcpy(p, bytes, false);
                    float[] tmp = new float[Math.toIntExact(elements)];
                    p.get(tmp);
                    view.put(tmp);
                }
            }
        }
    }

    private void memcpy(Pointer host, long bytes, boolean toDevice) {
        Pointer device = memory.buffer().pointer();
        Cuda.check(toDevice ? cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice)
                        : cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy",
                toDevice ? "host to device tensor" : "device tensor to host", Arrays.toString(dims));
        Cuda.check(cudaStreamSynchronize((CUstream_st) null), "cudaStreamSynchronize", "legacy default stream");
    }

    @Override
    protected String describe() {
        return "DeviceTensor" + Arrays.toString(dims);
    }

    @Override
    protected void release() {
        memory.close();
    }
}
