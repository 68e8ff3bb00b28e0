package dev.jresnet.cuda;

import java.util.Arrays;

/**
 * A tensor on the device as {@link GpuOps} and {@code GpuGrads} take it, the GPU twin of the CPU ops'
 * {@code Tensor}: device memory with its dims ({@code [N, C, H, W]} stored NCHW or NHWC, {@code [N, C]} or
 * {@code [C]}) and element type. It is either a view of memory owned elsewhere (an arena slice) or owns its
 * memory ({@link #allocate}); either way it owns its cuDNN descriptors, made on first use and kept, so that a tensor
 * made once and used many times costs no descriptor calls after the first. Close it when done.
 */
public final class GpuTensor extends CudaResource {
    private final DeviceBuffer buffer;
    private final DeviceMemory owned;
    private final int[] dims;
    private final ElementType element;
    private final Layout layout;
    private TensorDescriptor descriptor;
    private FilterDescriptor filter;

    private GpuTensor(DeviceBuffer buffer, DeviceMemory owned, int[] dims, ElementType element, Layout layout) {
        if (dims.length != 1 && dims.length != 2 && dims.length != 4) {
            throw new IllegalArgumentException("a device tensor is [C], [N, C] or [N, C, H, W], got "
                    + Arrays.toString(dims));
        }
        long n = 1;
        for (int d : dims) {
            if (d < 1) {
                throw new IllegalArgumentException("device tensor dimensions must be >= 1, got " + Arrays.toString(dims));
            }
            n = Math.multiplyExact(n, d);
        }
        long bytes = n * element.bytes();
        if (buffer.bytes() < bytes) {
            throw new IllegalArgumentException(Arrays.toString(dims) + " " + element + " needs " + bytes
                    + " bytes, " + buffer + " has " + buffer.bytes());
        }
        // Cut to size once, so that the ops' calls to buffer() make nothing.
        this.buffer = buffer.bytes() == bytes ? buffer : buffer.slice(0, bytes);
        this.owned = owned;
        this.dims = dims.clone();
        this.element = element;
        this.layout = layout;
    }

    /** New device memory for {@code dims} (contents undefined until written). */
    public static GpuTensor allocate(String purpose, ElementType element, Layout layout, int... dims) {
        long n = 1;
        for (int d : dims) {
            n = Math.multiplyExact(n, Math.max(d, 1));
        }
        DeviceMemory m = DeviceMemory.allocate(n * element.bytes(), purpose + " " + Arrays.toString(dims));
        try {
            return new GpuTensor(m.buffer(), m, dims, element, layout);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** An fp32 NCHW tensor in new device memory. */
    public static GpuTensor allocate(String purpose, int... dims) {
        return allocate(purpose, ElementType.FP32, Layout.NCHW, dims);
    }

    /** A view of {@code buffer} (which must hold the tensor) as {@code dims}. */
    public static GpuTensor view(DeviceBuffer buffer, ElementType element, Layout layout, int... dims) {
        return new GpuTensor(buffer, null, dims, element, layout);
    }

    /** An fp32 NCHW view. */
    public static GpuTensor view(DeviceBuffer buffer, int... dims) {
        return view(buffer, ElementType.FP32, Layout.NCHW, dims);
    }

    public int[] dims() {
        return dims.clone();
    }

    public int dim(int i) {
        return dims[i];
    }

    public int rank() {
        return dims.length;
    }

    public long elements() {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        return n;
    }

    public long bytes() {
        return elements() * element.bytes();
    }

    public ElementType element() {
        return element;
    }

    public Layout layout() {
        return layout;
    }

    /** The memory (exactly {@link #bytes()} long). */
    public DeviceBuffer buffer() {
        checkOpen();
        return buffer;
    }

    /** The cuDNN tensor descriptor: [N, C, H, W] as is, [N, C] as [N, C, 1, 1], [C] as [1, C, 1, 1]. */
    public TensorDescriptor descriptor() {
        checkOpen();
        if (descriptor == null) {
            int[] d4 = switch (dims.length) {
                case 4 -> dims;
                case 2 -> new int[] {dims[0], dims[1], 1, 1};
                default -> new int[] {1, dims[0], 1, 1};
            };
            descriptor = TensorDescriptor.create(layout, element, d4[0], d4[1], d4[2], d4[3]);
        }
        return descriptor;
    }

    /** The cuDNN filter descriptor of a weight [K, C, R, S]. */
    public FilterDescriptor filterDescriptor() {
        checkOpen();
        if (dims.length != 4) {
            throw new IllegalStateException("a filter is [K, C, R, S], this tensor is " + Arrays.toString(dims));
        }
        if (filter == null) {
            filter = FilterDescriptor.create(layout, element, dims[0], dims[1], dims[2], dims[3]);
        }
        return filter;
    }

    /** Throws naming {@code what} unless the dims are {@code expected}. */
    public GpuTensor require(String what, int... expected) {
        if (!Arrays.equals(dims, expected)) {
            throw new IllegalArgumentException(what + ": expected " + Arrays.toString(expected) + ", found "
                    + Arrays.toString(dims));
        }
        return this;
    }

    /** Throws naming {@code what} unless this has the same dims as {@code other}. */
    public GpuTensor requireSameShape(String what, GpuTensor other) {
        return require(what, other.dims);
    }

    /** Whether both are the same memory (an in-place call). */
    public boolean sameMemory(GpuTensor other) {
        return other != null && buffer.address() == other.buffer.address();
    }

    @Override
    protected String describe() {
        return "GpuTensor" + Arrays.toString(dims) + " " + element + " " + layout;
    }

    @Override
    protected void release() {
        RuntimeException first = null;
        for (CudaResource r : new CudaResource[] {filter, descriptor, owned}) {
            if (r != null) {
                try {
                    r.close();
                } catch (RuntimeException e) {
                    first = first == null ? e : first;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
