package dev.jresnet.cuda;

import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Precision;

import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * A ResNet on one CUDA device: the folded weights of every layer ({@link NetworkPlan}) uploaded once into one
 * device arena, the kernels, and the algorithm cache. Immutable after creation and shared by any number of threads; the
 * per-caller state (stream, handles, activations, workspace, CUDA graphs) lives in {@link ExecutionContext}s,
 * which the model lends from a pool ({@link #withContext}, at most {@code maxContexts} at once; a caller
 * waits for a free one) or hands out for a caller to keep ({@link #createContext()}).
 *
 * <p>{@link #close()} waits for calls in progress, then frees everything in reverse order of creation:
 * contexts (graphs, buffers, handles, streams), device tensors, weights, kernels, then releases the
 * device. Any use afterwards throws IllegalStateException.
 */
public final class CudaResNet implements AutoCloseable {
    /** How the model runs. {@code buckets}: batch sizes with their own plan and graph, ascending. */
    public record Options(int device, Precision precision, List<Integer> buckets, boolean cudaGraphs,
                          ConvAlgorithms.Search search, long workspaceLimit, int maxContexts) {
        public Options {
            if (device < 0) {
                throw new IllegalArgumentException("CUDA device index must be >= 0, got " + device);
            }
            if (precision == null) {
                throw new IllegalArgumentException("precision must not be null");
            }
            if (buckets == null || buckets.isEmpty()) {
                throw new IllegalArgumentException("at least one batch bucket is needed");
            }
            List<Integer> sorted = new ArrayList<>(buckets);
            Collections.sort(sorted);
            for (int i = 0; i < sorted.size(); i++) {
                if (sorted.get(i) < 1 || (i > 0 && sorted.get(i).equals(sorted.get(i - 1)))) {
                    throw new IllegalArgumentException("batch buckets must be distinct and >= 1, got " + buckets);
                }
            }
            buckets = List.copyOf(sorted);
            if (workspaceLimit < 0) {
                throw new IllegalArgumentException("workspace limit must be >= 0, got " + workspaceLimit);
            }
            if (maxContexts < 1) {
                throw new IllegalArgumentException("maxContexts must be >= 1, got " + maxContexts);
            }
            if (search == null) {
                search = ConvAlgorithms.Search.HEURISTIC;
            }
        }

        /** Device 0, fp32, buckets 1, 8, 32, 256, CUDA graphs on, heuristic algorithms, 256 MiB, 4 contexts. */
        public static Options defaults() {
            return new Options(0, Precision.FP32, List.of(1, 8, 32, 256), true,
                    ConvAlgorithms.Search.HEURISTIC, 256L << 20, 4);
        }

        public Options withDevice(int d) {
            return new Options(d, precision, buckets, cudaGraphs, search, workspaceLimit, maxContexts);
        }

        public Options withPrecision(Precision p) {
            return new Options(device, p, buckets, cudaGraphs, search, workspaceLimit, maxContexts);
        }

        public Options withBuckets(List<Integer> b) {
            return new Options(device, precision, b, cudaGraphs, search, workspaceLimit, maxContexts);
        }

        public Options withCudaGraphs(boolean on) {
            return new Options(device, precision, buckets, on, search, workspaceLimit, maxContexts);
        }

        public Options withSearch(ConvAlgorithms.Search s) {
            return new Options(device, precision, buckets, cudaGraphs, s, workspaceLimit, maxContexts);
        }

        public Options withWorkspaceLimit(long bytes) {
            return new Options(device, precision, buckets, cudaGraphs, search, bytes, maxContexts);
        }

        public Options withMaxContexts(int n) {
            return new Options(device, precision, buckets, cudaGraphs, search, workspaceLimit, n);
        }

        int[] bucketArray() {
            return buckets.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /** Holds the model's read lock for one call; closing releases it. */
    final class Guard implements AutoCloseable {
        private Guard() {}

        @Override
        public void close() {
            lifecycle.readLock().unlock();
        }
    }

    private final NetworkPlan plan;
    private final Options options;
    private final CudaContext cuda;
    private final Kernels kernels;
    private final DeviceArena weights;
    private final List<LayerWeights> layerWeights;
    private final GpuTensor fcWeight;
    private final GpuTensor fcBias;
    private final ConvAlgorithms algorithms;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final Semaphore permits;
    private final Deque<ExecutionContext> idle = new ArrayDeque<>();
    private final Set<AutoCloseable> children = Collections.newSetFromMap(new IdentityHashMap<>());
    private final List<AutoCloseable> childOrder = new ArrayList<>();
    private volatile boolean closed;

    private CudaResNet(NetworkPlan plan, Options options, CudaContext cuda, Kernels kernels, DeviceArena weights,
                         List<LayerWeights> layerWeights, GpuTensor fcWeight, GpuTensor fcBias) {
        this.plan = plan;
        this.options = options;
        this.cuda = cuda;
        this.kernels = kernels;
        this.weights = weights;
        this.layerWeights = List.copyOf(layerWeights);
        this.fcWeight = fcWeight;
        this.fcBias = fcBias;
        this.algorithms = new ConvAlgorithms(options.search(), options.workspaceLimit());
        this.permits = new Semaphore(options.maxContexts(), true);
    }

    /**
     * Opens the device, compiles or loads the kernels, and uploads the plan's folded weights (in the layout and
     * element type of the precision). Throws {@link CudaException} (or a LinkageError where a library is
     * missing) when the device is unusable.
     */
    public static CudaResNet create(NetworkPlan plan, Options options) {
        Deque<AutoCloseable> made = new ArrayDeque<>();
        try {
            CudaContext cuda = CudaContext.open(options.device());
            made.push(cuda);
            Kernels kernels = Kernels.load(cuda);
            made.push(kernels);
            CudaPrecision p = CudaPrecision.of(options.precision());
            Set<Integer> inputReaders = plan.inputReaders();
            long bytes = 0;
            for (int i = 0; i < plan.layers().size(); i++) {
                bytes += LayerWeights.arenaBytes(plan.layers().get(i), p, inputReaders.contains(i));
            }
            bytes += DeviceArena.align(4L * plan.fcWeight().length) + DeviceArena.align(4L * plan.fcBias().length);
            DeviceArena arena = DeviceArena.create(bytes, options.precision().id() + " weights (batch norm folded)");
            made.push(arena);
            List<LayerWeights> layers = new ArrayList<>();
            GpuTensor fcW, fcB;
            try (Stream upload = Stream.create()) {
                for (int i = 0; i < plan.layers().size(); i++) {
                    LayerWeights w = LayerWeights.upload(plan.layers().get(i), p, inputReaders.contains(i), arena,
                            upload);
                    made.push(w);
                    layers.add(w);
                }
                DeviceBuffer w = arena.slice(4L * plan.fcWeight().length, "fc.weight");
                w.upload(upload, plan.fcWeight());
                DeviceBuffer b = arena.slice(4L * plan.fcBias().length, "fc.bias");
                b.upload(upload, plan.fcBias());
                fcW = GpuTensor.view(w, plan.classes(), plan.features());
                made.push(fcW);
                fcB = GpuTensor.view(b, plan.classes());
                made.push(fcB);
            }
            return new CudaResNet(plan, options, cuda, kernels, arena, layers, fcW, fcB);
        } catch (RuntimeException | Error e) {
            while (!made.isEmpty()) {
                try {
                    made.pop().close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    // ------------------------------------------------------------------ calls

    /**
     * Runs {@code body} with a context from the pool (created when none is idle and fewer than maxContexts
     * exist; otherwise waits), with the device current on this thread. A context whose call failed with
     * anything but an IllegalArgumentException (argument checks come before any GPU work) is closed rather
     * than returned: its stream may be in an unknown state.
     */
    public <T> T withContext(Function<ExecutionContext, T> body) {
        try (Guard g = enter()) {
            try {
                permits.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a free execution context", e);
            }
            ExecutionContext ctx = null;
            boolean ok = false;
            try {
                synchronized (idle) {
                    ctx = idle.poll();
                }
                if (ctx == null) {
                    ctx = createContext();
                }
                T result;
                try {
                    result = body.apply(ctx);
                } catch (IllegalArgumentException e) {
                    ok = true; // a rejected argument is found before any GPU work: the context is intact
                    throw e;
                }
                ok = true;
                return result;
            } finally {
                if (ctx != null) {
                    if (ok) {
                        synchronized (idle) {
                            idle.push(ctx);
                        }
                    } else {
                        try {
                            ctx.close();
                        } catch (RuntimeException ignored) {
                            // the original failure is the one to report
                        }
                    }
                }
                permits.release();
            }
        }
    }

    /** A new context for the caller to keep (one thread at a time); closed by the caller or with the model. */
    public ExecutionContext createContext() {
        try (Guard g = enter()) {
            ExecutionContext ctx = new ExecutionContext(this);
            synchronized (children) {
                children.add(ctx);
                childOrder.add(ctx);
            }
            return ctx;
        }
    }

    /** Logits [n][classes] of n images [n][3][H][W] (NCHW fp32). */
    public float[] logits(float[] nchw, int n) {
        return withContext(c -> c.logits(nchw, n));
    }

    /** Pooled features [n][features] (what the classifier reads) of n images [n][3][H][W] (NCHW fp32). */
    public float[] features(float[] nchw, int n) {
        return withContext(c -> c.features(nchw, n));
    }

    /** Pooled features of resized and cropped 8-bit images, normalised on the GPU. */
    public float[] featuresOfCrops(List<RgbImage> crops, float[] mean, float[] std) {
        return withContext(c -> c.featuresOfCrops(crops, mean, std));
    }

    /** See {@link ExecutionContext#logits(FloatBuffer, int, FloatBuffer)}. */
    public void logits(FloatBuffer in, int n, FloatBuffer out) {
        withContext(c -> {
            c.logits(in, n, out);
            return null;
        });
    }

    /** Device tensor [n, 3, H, W] in, device tensor [n, classes] out. */
    public void logits(DeviceTensor in, DeviceTensor out) {
        withContext(c -> {
            c.logits(in, out);
            return null;
        });
    }

    /** Logits of resized and cropped 8-bit images, normalised on the GPU. */
    public float[] logitsOfCrops(List<RgbImage> crops, float[] mean, float[] std) {
        return withContext(c -> c.logitsOfCrops(crops, mean, std));
    }

    /** A device tensor for n input images [n, 3, H, W] fp32 (closed with the model unless closed before). */
    public DeviceTensor allocateInput(int n) {
        return allocate(new int[] {n, 3, plan.input().h(), plan.input().w()}, "input");
    }

    /** A device tensor for the logits of n images [n, classes] fp32. */
    public DeviceTensor allocateOutput(int n) {
        return allocate(new int[] {n, plan.classes()}, "logits");
    }

    private DeviceTensor allocate(int[] dims, String what) {
        try (Guard g = enter()) {
            cuda.makeCurrent();
            DeviceTensor t = new DeviceTensor(dims, what);
            synchronized (children) {
                children.add(t);
                childOrder.add(t);
            }
            return t;
        }
    }

    // ------------------------------------------------------------------ accessors

    public Precision precision() {
        return options.precision();
    }

    public Options options() {
        return options;
    }

    public NetworkPlan plan() {
        return plan;
    }

    public CudaDevice device() {
        return cuda.device();
    }

    public ConvAlgorithms algorithms() {
        return algorithms;
    }

    /** Bytes of the weight arena. */
    public long weightBytes() {
        return weights.capacity();
    }

    /** "cuda:0 (NVIDIA H200, compute capability 9.0), fp16, CUDA graphs, buckets [1, 8, 32, 256]". */
    public String describe() {
        CudaDevice d = cuda.device();
        return "cuda:" + d.ordinal() + " (" + d.name() + ", compute capability " + d.major() + "." + d.minor() + "), "
                + options.precision().id()
                + (options.cudaGraphs() ? ", CUDA graphs" : ", eager") + ", buckets " + options.buckets();
    }

    Kernels kernels() {
        return kernels;
    }

    CudaContext context() {
        return cuda;
    }

    List<LayerWeights> layerWeights() {
        return layerWeights;
    }

    GpuTensor fcWeight() {
        return fcWeight;
    }

    GpuTensor fcBias() {
        return fcBias;
    }

    /** Takes the read lock for one call, makes the device current; throws when the model is closed. */
    Guard enter() {
        lifecycle.readLock().lock();
        if (closed) {
            lifecycle.readLock().unlock();
            throw new IllegalStateException("this CUDA model is closed");
        }
        try {
            cuda.makeCurrent();
        } catch (RuntimeException e) {
            lifecycle.readLock().unlock();
            throw e;
        }
        return new Guard();
    }

    /** A closed context or tensor leaves the model's list. */
    void forget(AutoCloseable child) {
        synchronized (children) {
            if (children.remove(child)) {
                childOrder.remove(child);
            }
        }
        synchronized (idle) {
            idle.remove(child);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            cuda.makeCurrent();
            List<AutoCloseable> toClose;
            synchronized (children) {
                toClose = new ArrayList<>(childOrder);
            }
            Collections.reverse(toClose);
            RuntimeException first = null;
            for (AutoCloseable c : toClose) {
                first = closeCollecting(c, first);
            }
            synchronized (idle) {
                idle.clear();
            }
            first = closeCollecting(fcBias, first);
            first = closeCollecting(fcWeight, first);
            for (int i = layerWeights.size() - 1; i >= 0; i--) {
                first = closeCollecting(layerWeights.get(i), first);
            }
            first = closeCollecting(weights, first);
            first = closeCollecting(kernels, first);
            first = closeCollecting(cuda, first);
            if (first != null) {
                throw first;
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    private static RuntimeException closeCollecting(AutoCloseable c, RuntimeException first) {
        try {
            c.close();
            return first;
        } catch (Exception e) {
            RuntimeException r = e instanceof RuntimeException re ? re : new IllegalStateException(e);
            if (first == null) {
                return r;
            }
            first.addSuppressed(r);
            return first;
        }
    }

    @Override
    public String toString() {
        return "CudaResNet(" + options.precision() + ", buckets " + options.buckets() + (closed ? ", closed" : "") + ")";
    }

    static String shape(int... dims) {
        return Arrays.toString(dims);
    }
}
