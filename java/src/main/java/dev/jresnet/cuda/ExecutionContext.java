package dev.jresnet.cuda;

import dev.jresnet.image.RgbImage;
import dev.jresnet.nn.Dims;
import dev.jresnet.tensor.Precision;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.bytedeco.cuda.global.cudnn.CUDNN_POOLING_MAX;

/**
 * Everything one caller (thread) needs to run a shared {@link CudaResNet}: its own {@link GpuOps} (stream, cuDNN and
 * cuBLAS handles bound to it, convolution plans, workspace), the activation buffers, input/output staging (device and
 * pinned host), and the CUDA graphs it captured. All device memory except the grow-only
 * workspace is one arena allocated at creation, so that after the first forward pass of each batch bucket
 * nothing is allocated.
 *
 * <p>Batches run in buckets: a batch of n images runs in the smallest configured bucket b >= n (the other
 * b - n images are zeros and their logits are dropped); larger batches are split into chunks of the largest
 * bucket. A bucket's first run is eager; with graphs enabled its second run captures the whole forward pass
 * (input buffer to logits buffer) into a CUDA graph, and later runs replay it.
 *
 * <p>A context is used by one thread at a time (its methods are synchronized). Get one with
 * {@link CudaResNet#withContext} (from the model's pool) or {@link CudaResNet#createContext()}.
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class ExecutionContext extends CudaResource {
    private final CudaResNet model;
    private final NetworkPlan plan;
    private final CudaPrecision precision;
    private final int[] buckets;
    private final int maxBatch;
    private final int inH, inW, classes, features;
    private final long perImageInput;  // elements of one input image as callers give it: 3 x H x W
    private final int storedChannels;  // channels of the device input: 3, or 8 in fp16 (zeros after the colours)
    private final long perImageStored; // elements of one image in the device input buffer
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();

    private final GpuOps ops;
    private final Stream stream;
    private final DeviceArena arena;
    private final DeviceBuffer[] activations;
    private final DeviceBuffer input;
    private final DeviceBuffer inputF32;
    private final DeviceBuffer inputU8;
    private final DeviceBuffer pooled;
    private final DeviceBuffer logits;
    private final PinnedBuffer pinnedIn;
    private final PinnedBuffer pinnedU8;
    private final PinnedBuffer pinnedOut;
    private final Map<Integer, BucketPlan> plans = new HashMap<>();
    private final Map<Integer, CudaGraph> graphs = new HashMap<>();
    private final Set<Integer> warmed = new HashSet<>();
    private final Map<Integer, String> captureFailures = new HashMap<>();
    private boolean useGraphs;

    ExecutionContext(CudaResNet model) {
        this.model = model;
        this.plan = model.plan();
        this.precision = CudaPrecision.of(model.precision());
        this.buckets = model.options().bucketArray();
        this.maxBatch = buckets[buckets.length - 1];
        this.inH = plan.input().h();
        this.inW = plan.input().w();
        this.classes = plan.classes();
        this.features = plan.features();
        this.perImageInput = plan.input().elements();
        this.storedChannels = precision.inputChannels(plan.input().c());
        this.perImageStored = (long) storedChannels * inH * inW;
        this.useGraphs = model.options().cudaGraphs();
        try {
            ops = own(new GpuOps(model.context(), model.kernels(), model.precision(), model.algorithms()));
            stream = ops.stream();
            int e = precision.element().bytes();
            long act = maxBatch * plan.maxActivationElements() * e;
            long in = maxBatch * perImageStored * e;
            long inF32 = precision.element() == ElementType.FP16 ? maxBatch * perImageInput * 4 : 0;
            long inU8 = maxBatch * perImageInput;
            long pool = (long) maxBatch * plan.features() * 4;
            long out = (long) maxBatch * classes * 4;
            long[] sizes = new long[plan.bufferCount() + 5];
            Arrays.fill(sizes, 0, plan.bufferCount(), act);
            int i = plan.bufferCount();
            sizes[i] = in;
            sizes[i + 1] = Math.max(inF32, 1);
            sizes[i + 2] = inU8;
            sizes[i + 3] = pool;
            sizes[i + 4] = out;
            arena = own(DeviceArena.create(DeviceArena.sizeFor(sizes), "activations of a "
                    + precision.precision().id() + " context (buckets " + Arrays.toString(buckets) + ")"));
            activations = new DeviceBuffer[plan.bufferCount()];
            for (int b = 0; b < activations.length; b++) {
                activations[b] = arena.slice(act, "activation buffer " + b);
            }
            input = arena.slice(in, "network input");
            DeviceBuffer f32 = arena.slice(sizes[i + 1], "fp32 input staging");
            inputF32 = precision.element() == ElementType.FP16 ? f32 : input;
            inputU8 = arena.slice(inU8, "8-bit image staging");
            pooled = arena.slice(pool, "pooled features");
            logits = arena.slice(out, "logits");
            arena.buffer().fill(stream, 0); // every buffer starts as finite zeros

            pinnedIn = own(PinnedBuffer.allocate(4 * maxBatch * perImageInput, "input staging"));
            pinnedU8 = own(PinnedBuffer.allocate(maxBatch * perImageInput, "8-bit image staging"));
            // one staging for either output: logits [maxBatch, classes] or pooled features [maxBatch, features]
            pinnedOut = own(PinnedBuffer.allocate(4L * maxBatch * Math.max(classes, features),
                    "logits and features staging"));
            for (int b : buckets) {
                plans.put(b, own(new BucketPlan(b)));
            }
            // Every shape is planned: size the workspace once, so that no later call (or capture) allocates.
            ops.reserve(maxBatch);
            stream.synchronize();
        } catch (RuntimeException | Error ex) {
            releaseOwned();
            throw ex;
        }
    }

    private <T extends AutoCloseable> T own(T resource) {
        owned.push(resource);
        return resource;
    }

    // ------------------------------------------------------------------ public API

    public Precision precision() {
        return precision.precision();
    }

    /** The configured batch buckets, ascending. */
    public int[] buckets() {
        return buckets.clone();
    }

    /** The smallest bucket that holds {@code n} images ({@code n <= } the largest bucket). */
    public int bucketFor(int n) {
        for (int b : buckets) {
            if (b >= n) {
                return b;
            }
        }
        throw new IllegalArgumentException("batch of " + n + " is larger than the largest bucket " + maxBatch);
    }

    /** CUDA graphs on (the default from the model's options) or off (every run eager). */
    public synchronized void setUseGraphs(boolean on) {
        checkOpen();
        this.useGraphs = on;
    }

    /** Buckets whose forward pass has been captured. */
    public synchronized Set<Integer> capturedBuckets() {
        return Set.copyOf(graphs.keySet());
    }

    /** Buckets whose graph capture failed (they run eagerly), with the error. */
    public synchronized Map<Integer, String> captureFailures() {
        return Map.copyOf(captureFailures);
    }

    /** Bytes of convolution workspace held. */
    public synchronized long workspaceBytes() {
        return ops.workspaceBytes();
    }

    /** Bytes of the activation arena (activations, staging, pooled features, logits). */
    public long arenaBytes() {
        return arena.capacity();
    }

    /**
     * Convolutions that fell back from the fused cuDNN call to convolution + add + ReLU, by layer name, with the cuDNN
     * status that made them (a layer is listed once, whichever batch bucket fell back first).
     */
    public synchronized Map<String, String> unfusedLayers() {
        Map<String, String> out = new LinkedHashMap<>();
        for (int b : buckets) {
            BucketPlan p = plans.get(b);
            for (int i = 0; i < p.convs.length; i++) {
                if (p.convs[i] != null && !p.convs[i].fused()) {
                    out.putIfAbsent(layerName(i), "batch " + b + ": " + p.convs[i].fallbackReason());
                }
            }
        }
        return out;
    }

    private String layerName(int step) {
        return plan.layers().get(((NetworkPlan.Conv) plan.steps().get(step)).layer()).name();
    }

    /** The forward algorithm chosen for every convolution at bucket {@code n}, by layer name. */
    public synchronized Map<String, ConvAlgorithms.Choice> algorithms(int n) {
        BucketPlan p = plans.get(n);
        if (p == null) {
            throw new IllegalArgumentException("no bucket " + n + " (buckets " + Arrays.toString(buckets) + ")");
        }
        Map<String, ConvAlgorithms.Choice> out = new LinkedHashMap<>();
        for (int i = 0; i < p.convs.length; i++) {
            if (p.convs[i] != null) {
                out.put(layerName(i), p.convs[i].forward);
            }
        }
        return out;
    }

    /** Logits [n][classes] (row-major) of n preprocessed images [n][3][H][W] (NCHW fp32). */
    public float[] logits(float[] nchw, int n) {
        return run(nchw, n, false);
    }

    /**
     * Pooled features [n][features] (row-major, fp32 in every precision: what the classifier reads, 2048 per image
     * for resnet50) of n preprocessed images [n][3][H][W] (NCHW fp32). The same pass as {@link #logits(float[], int)}
     * (graph included); only the buffer downloaded differs.
     */
    public float[] features(float[] nchw, int n) {
        return run(nchw, n, true);
    }

    private float[] run(float[] nchw, int n, boolean pooledFeatures) {
        requireBatch(n);
        float[] out = new float[Math.multiplyExact(n, pooledFeatures ? features : classes)];
        if (nchw.length != (long) n * perImageInput) {
            throw new IllegalArgumentException("input of " + nchw.length + " floats is not [" + n + ", 3, " + inH
                    + ", " + inW + "] (" + (long) n * perImageInput + " floats)");
        }
        run(FloatBuffer.wrap(nchw), n, FloatBuffer.wrap(out), pooledFeatures);
        return out;
    }

    /**
     * Reads n images [n][3][H][W] (NCHW fp32) from {@code in} at its position and writes their logits
     * [n][classes] to {@code out} at its position; both positions are left unchanged. Direct buffers are
     * copied once into pinned memory; heap buffers work too.
     */
    public void logits(FloatBuffer in, int n, FloatBuffer out) {
        run(in, n, out, false);
    }

    /** As {@link #logits(FloatBuffer, int, FloatBuffer)}, writing the pooled features [n][features] instead. */
    public void features(FloatBuffer in, int n, FloatBuffer out) {
        run(in, n, out, true);
    }

    private synchronized void run(FloatBuffer in, int n, FloatBuffer out, boolean pooledFeatures) {
        try (CudaResNet.Guard g = model.enter()) {
            checkOpen();
            requireBatch(n);
            int width = pooledFeatures ? features : classes;
            long needIn = (long) n * perImageInput, needOut = (long) n * width;
            if (in.remaining() < needIn) {
                throw new IllegalArgumentException("input has " + in.remaining() + " floats remaining; [" + n + ", 3, "
                        + inH + ", " + inW + "] needs " + needIn);
            }
            if (out.remaining() < needOut) {
                throw new IllegalArgumentException("output has " + out.remaining() + " floats remaining; [" + n + ", "
                        + width + "] needs " + needOut);
            }
            FloatBuffer src = in.duplicate();
            FloatBuffer dst = out.duplicate();
            for (int start = 0; start < n; start += maxBatch) {
                int m = Math.min(maxBatch, n - start);
                int count = Math.toIntExact(m * perImageInput);
                FloatBuffer staging = pinnedIn.asFloatBuffer();
                FloatBuffer chunk = src.slice();
                chunk.limit(count);
                staging.put(chunk);
                src.position(src.position() + count);
                inputF32.copyFrom(stream, pinnedIn, 0, 0, 4L * count);
                if (inputF32 != input) {
                    model.kernels().nchwF32ToNhwcF16(stream, inputF32, input, m, 3, inH, inW, storedChannels);
                }
                forwardChunk(m);
                download(m, pooledFeatures, dst);
            }
        }
    }

    /** Logits of a device-resident batch [n, 3, H, W] into a device tensor [n, classes]; no host copies. */
    public synchronized void logits(DeviceTensor in, DeviceTensor out) {
        try (CudaResNet.Guard g = model.enter()) {
            checkOpen();
            int[] d = in.dims();
            if (d.length != 4 || d[1] != 3 || d[2] != inH || d[3] != inW) {
                throw new IllegalArgumentException("device input must be [N, 3, " + inH + ", " + inW + "], found "
                        + Arrays.toString(d));
            }
            int n = d[0];
            requireBatch(n);
            int[] o = out.dims();
            if (o.length != 2 || o[0] != n || o[1] != classes) {
                throw new IllegalArgumentException("device output must be [" + n + ", " + classes + "], found "
                        + Arrays.toString(o));
            }
            long imageBytes = 4 * perImageInput;
            for (int start = 0; start < n; start += maxBatch) {
                int m = Math.min(maxBatch, n - start);
                DeviceBuffer src = in.buffer().slice(start * imageBytes, m * imageBytes);
                if (inputF32 == input) {
                    input.copyFrom(stream, src);
                } else {
                    model.kernels().nchwF32ToNhwcF16(stream, src, input, m, 3, inH, inW, storedChannels);
                }
                forwardChunk(m);
                out.buffer().slice(4L * start * classes, 4L * m * classes)
                        .copyFrom(stream, logits.slice(0, 4L * m * classes));
            }
            stream.synchronize();
        }
    }

    /**
     * Logits of already resized and cropped 8-bit RGB images (each H x W): the bytes are uploaded and
     * normalised on the GPU ({@code preprocess.cu}) with {@code mean} and {@code std}.
     */
    public float[] logitsOfCrops(List<RgbImage> crops, float[] mean, float[] std) {
        return runCrops(crops, mean, std, false);
    }

    /** Pooled features [n][features] of already resized and cropped images, as {@link #logitsOfCrops}. */
    public float[] featuresOfCrops(List<RgbImage> crops, float[] mean, float[] std) {
        return runCrops(crops, mean, std, true);
    }

    private synchronized float[] runCrops(List<RgbImage> crops, float[] mean, float[] std, boolean pooledFeatures) {
        try (CudaResNet.Guard g = model.enter()) {
            checkOpen();
            int n = crops.size();
            requireBatch(n);
            for (RgbImage c : crops) {
                if (c.width() != inW || c.height() != inH) {
                    throw new IllegalArgumentException("crop of " + c.width() + "x" + c.height() + " does not match the "
                            + "network input " + inW + "x" + inH);
                }
            }
            float[] result = new float[Math.multiplyExact(n, pooledFeatures ? features : classes)];
            FloatBuffer dst = FloatBuffer.wrap(result);
            for (int start = 0; start < n; start += maxBatch) {
                int m = Math.min(maxBatch, n - start);
                ByteBuffer staging = pinnedU8.asByteBuffer();
                for (int i = 0; i < m; i++) {
                    staging.put(crops.get(start + i).pixels());
                }
                inputU8.copyFrom(stream, pinnedU8, 0, 0, m * perImageInput);
                if (precision.element() == ElementType.FP16) {
                    model.kernels().preprocessU8ToNhwcF16(stream, inputU8, input, m, inH, inW, storedChannels, mean,
                            std);
                } else {
                    model.kernels().preprocessU8ToNchwF32(stream, inputU8, input, m, inH, inW, mean, std);
                }
                forwardChunk(m);
                download(m, pooledFeatures, dst);
            }
            return result;
        }
    }

    // ------------------------------------------------------------------ running

    private void requireBatch(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + n);
        }
    }

    /** The network input buffer holds m images: run the bucket that holds them (graph or eager). */
    private void forwardChunk(int m) {
        int b = bucketFor(m);
        if (b > m) {
            long imageBytes = perImageStored * precision.element().bytes();
            input.slice(m * imageBytes, (b - m) * imageBytes).fill(stream, 0);
        }
        BucketPlan p = plans.get(b);
        if (useGraphs && warmed.contains(b) && !captureFailures.containsKey(b)) {
            CudaGraph graph = graphs.get(b);
            if (graph == null) {
                try {
                    graph = CudaGraph.capture(stream, precision.precision().id() + " forward, batch " + b, p::run);
                } catch (CudaException e) {
                    // Never silently: logged, and listed by captureFailures(); this bucket stays eager.
                    captureFailures.put(b, e.getMessage());
                    System.getLogger(ExecutionContext.class.getName()).log(System.Logger.Level.WARNING,
                            "CUDA graph capture of bucket " + b + " failed, running it eagerly: " + e.getMessage());
                    p.run();
                    return;
                }
                graphs.put(b, graph);
                owned.push(graph);
            }
            graph.launch(stream);
        } else {
            p.run();
            warmed.add(b);
        }
    }

    /** Copies the logits [m, classes] or the pooled features [m, features] of the last chunk to {@code dst}. */
    private void download(int m, boolean pooledFeatures, FloatBuffer dst) {
        int width = pooledFeatures ? features : classes;
        (pooledFeatures ? pooled : logits).copyTo(stream, pinnedOut, 0, 0, 4L * m * width);
        stream.synchronize();
        FloatBuffer staged = pinnedOut.asFloatBuffer();
        staged.limit(m * width);
        dst.put(staged);
    }

    private DeviceBuffer buffer(int value) {
        int b = plan.bufferOf(value);
        return b < 0 ? input : activations[b];
    }

    /** Every value of one batch size as a tensor view, and the plan of every convolution at that size. */
    private final class BucketPlan implements AutoCloseable {
        final int n;
        final GpuTensor[] values;
        final GpuOps.ConvPlan[] convs;
        final GpuTensor pooledFeatures, logitsOut;

        BucketPlan(int n) {
            this.n = n;
            List<NetworkPlan.Step> steps = plan.steps();
            values = new GpuTensor[plan.values().size()];
            convs = new GpuOps.ConvPlan[steps.size()];
            GpuTensor pool = null, out = null;
            try {
                for (int v = 0; v < values.length; v++) {
                    Dims d = plan.values().get(v);
                    int c = v == 0 ? storedChannels : d.c();
                    values[v] = GpuTensor.view(buffer(v), precision.element(), precision.layout(), n, c, d.h(), d.w());
                }
                pool = GpuTensor.view(pooled, n, plan.features());
                out = GpuTensor.view(logits, n, classes);
                for (int i = 0; i < steps.size(); i++) {
                    if (steps.get(i) instanceof NetworkPlan.Conv c) {
                        NetworkPlan.ConvLayer l = plan.layers().get(c.layer());
                        convs[i] = ops.plan(values[c.out()], values[c.in()], model.layerWeights().get(c.layer()).filter,
                                l.stride(), l.pad(), l.groups());
                    } else if (steps.get(i) instanceof NetworkPlan.MaxPool m) {
                        ops.pooling(CUDNN_POOLING_MAX, m.kernel(), m.stride(), m.pad());
                    }
                }
            } catch (RuntimeException e) {
                closeViews(values);
                closeQuietly(pool);
                closeQuietly(out);
                throw e;
            }
            pooledFeatures = pool;
            logitsOut = out;
        }

        /** Queues the whole forward pass (input buffer to logits buffer) on the stream; never synchronises. */
        void run() {
            List<NetworkPlan.Step> steps = plan.steps();
            for (NetworkPlan.Step s : steps) {
                if (s instanceof NetworkPlan.Conv c) {
                    NetworkPlan.ConvLayer l = plan.layers().get(c.layer());
                    LayerWeights w = model.layerWeights().get(c.layer());
                    GpuTensor residual = c.residual() < 0 ? null : values[c.residual()];
                    if (w.bias == null) {
                        ops.conv2d(values[c.out()], values[c.in()], w.filter, null, l.stride(), l.pad(), l.groups());
                    } else {
                        ops.conv2dBiasRelu(values[c.out()], values[c.in()], w.filter, w.bias, residual, l.stride(),
                                l.pad(), l.groups());
                    }
                } else if (s instanceof NetworkPlan.MaxPool p) {
                    ops.maxPool(values[p.out()], values[p.in()], p.kernel(), p.stride(), p.pad());
                }
            }
            ops.globalAvgPool(pooledFeatures, values[plan.featureValue()]);
            ops.linear(logitsOut, pooledFeatures, model.fcWeight(), model.fcBias());
        }

        @Override
        public void close() {
            closeViews(values);
            closeQuietly(pooledFeatures);
            closeQuietly(logitsOut);
        }
    }

    private static void closeViews(GpuTensor[] views) {
        for (GpuTensor t : views) {
            closeQuietly(t);
        }
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    protected String describe() {
        return "ExecutionContext(" + precision.precision().id() + ", buckets " + Arrays.toString(buckets) + ")";
    }

    @Override
    protected void release() {
        try {
            if (!stream.isClosed()) {
                stream.synchronize();
            }
        } finally {
            releaseOwned();
            model.forget(this);
        }
    }

    /** Closes everything created, newest first (graphs, plans, workspace, pinned, arena, handles, stream). */
    private void releaseOwned() {
        RuntimeException first = null;
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort while closing
            }
        }
    }
}
