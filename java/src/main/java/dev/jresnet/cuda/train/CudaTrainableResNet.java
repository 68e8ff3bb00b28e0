package dev.jresnet.cuda.train;

import dev.jresnet.cuda.CudaContext;
import dev.jresnet.cuda.DeviceArena;
import dev.jresnet.cuda.DeviceBuffer;
import dev.jresnet.cuda.DeviceMemory;
import dev.jresnet.cuda.InferencePrecision;
import dev.jresnet.cuda.Kernels;
import dev.jresnet.cuda.Stream;
import dev.jresnet.nn.BatchNorm2d;
import dev.jresnet.nn.Bottleneck;
import dev.jresnet.nn.Conv2d;
import dev.jresnet.nn.TensorVisitor;
import dev.jresnet.resnet.ResNet50Config;
import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.TrainableResNet;
import dev.jresnet.train.TrainableResNet.Unfreeze;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ResNet-50 fine-tuning on one CUDA device, the GPU twin of {@link TrainableResNet}: same stages, same freezing
 * ({@link Unfreeze}: that stage and everything after it train), same {@code trainBn} semantics, same parameter
 * names and order, fp32 NCHW (or TF32 convolutions and GEMMs with {@link InferencePrecision#TF32}).
 *
 * <p>Every tensor of the graph is uploaded once into one device arena; trainable parameters get gradients in a
 * second arena (so {@link #zeroGrad()} is one memset). The frozen prefix runs in inference mode with
 * <b>unfolded</b> BatchNorm (convolution, then train.cu's BatchNorm on running statistics with CpuOps.batchNorm's
 * float formula, ReLU fused), through three rotating buffers, keeping no activations. The trainable suffix keeps
 * what its backward needs (each unit's input, convolution output, BatchNorm output and, in training mode, the
 * saved batch mean and inverse standard deviation). Activation buffers are allocated on first use and grow only
 * when a larger batch arrives.
 *
 * <p>{@link #graph()} is the host model; the device copy is the live one while training: {@link #syncToGraph()}
 * downloads the trainable stages' tensors (parameters and running statistics) into it, so the caller can save one
 * self-contained model. Frozen tensors are never written on the device. Not thread-safe (one training loop per
 * instance); {@link #close()} frees everything (and the device context when this instance opened it).
 */
public final class CudaTrainableResNet implements AutoCloseable {
    private static final int HEAD = 5;
    private static final int POOL_K = 3, POOL_S = 2, POOL_P = 1;

    /** What one {@link #trainStep} did. {@code gradNorm} is NaN when clipping was off. */
    public record StepResult(float loss, Tensor logits, float gradNorm) {}

    private final ResNet50Graph graph;
    private final Unfreeze unfreeze;
    private final int first;
    private final boolean trainBn;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final CudaContext context;
    private final TrainOps ops;
    private final Stream stream;
    private final DeviceArena values;
    private final DeviceArena grads;
    private final Map<String, DeviceBuffer> valueOf = new LinkedHashMap<>();
    private final Map<String, DeviceBuffer> gradOf = new LinkedHashMap<>();
    private final List<DeviceParameter> parameters;
    private final Unit stem;
    private final List<Block> blocks = new ArrayList<>();      // all 16, in order
    private final Map<String, DeviceMemory> buffers = new HashMap<>();

    // training-forward state
    private boolean cached;
    private int batch;
    private DeviceBuffer suffixInput;
    private int[] suffixInDims;      // [n, c, h, w] or [n, 2048]
    private DeviceBuffer stemOut, poolOut;
    private int[] stemOutDims, lastMapDims;
    private DeviceBuffer pooled, logits;
    /** Largest activation (elements) of the last training forward's suffix: the gradient buffers' size. */
    private long suffixMax;

    /**
     * Uploads {@code graph} (used as the host model, see {@link #syncToGraph}) to device {@code device}, opening
     * its context and compiling or loading the kernels.
     */
    public static CudaTrainableResNet create(ResNet50Graph graph, Unfreeze unfreeze, boolean trainBn, int device,
                                             InferencePrecision precision) {
        CudaContext ctx = CudaContext.open(device);
        Kernels k = null;
        try {
            k = Kernels.load(ctx);
            return new CudaTrainableResNet(graph, unfreeze, trainBn, ctx, k, precision, true);
        } catch (RuntimeException | Error e) {
            if (k != null) {
                k.close();
            }
            ctx.close();
            throw e;
        }
    }

    /** A copy of {@code pretrained} with a new head, as {@link TrainableResNet#withNewHead}, on the device. */
    public static CudaTrainableResNet withNewHead(ResNet50Graph pretrained, int numClasses, long seed, Unfreeze unfreeze,
                                                  boolean trainBn, int device, InferencePrecision precision) {
        ResNet50Graph g = TrainableResNet.withNewHead(pretrained, numClasses, seed, unfreeze, trainBn).graph();
        return create(g, unfreeze, trainBn, device, precision);
    }

    /** On an already open context with loaded kernels, which stay the caller's. */
    public static CudaTrainableResNet on(CudaContext context, Kernels kernels, ResNet50Graph graph, Unfreeze unfreeze,
                                         boolean trainBn, InferencePrecision precision) {
        return new CudaTrainableResNet(graph, unfreeze, trainBn, context, kernels, precision, false);
    }

    private CudaTrainableResNet(ResNet50Graph graph, Unfreeze unfreeze, boolean trainBn, CudaContext context,
                                Kernels kernels, InferencePrecision precision, boolean ownsContext) {
        if (graph == null || unfreeze == null) {
            throw new IllegalArgumentException("graph and unfreeze must not be null");
        }
        this.graph = graph;
        this.unfreeze = unfreeze;
        this.first = firstStage(unfreeze);
        this.trainBn = trainBn;
        this.context = context;
        if (ownsContext) {
            owned.push(context);
            owned.push(kernels);
        }
        try {
            ops = own(new TrainOps(context, kernels, precision));
            stream = ops.stream();
            List<String> trainable = trainableParameterNames(graph, unfreeze);
            long valueBytes = 0, gradBytes = 0;
            List<String> names = new ArrayList<>();
            List<Tensor> tensors = new ArrayList<>();
            graph.visitTensors((name, t, kind) -> {
                names.add(name);
                tensors.add(t);
            });
            for (int i = 0; i < names.size(); i++) {
                valueBytes += DeviceArena.align(4L * tensors.get(i).size());
                if (trainable.contains(names.get(i))) {
                    gradBytes += DeviceArena.align(4L * tensors.get(i).size());
                }
            }
            values = own(DeviceArena.create(valueBytes, "ResNet-50 training weights"));
            grads = own(DeviceArena.create(Math.max(gradBytes, DeviceArena.ALIGNMENT), "ResNet-50 gradients"));
            Map<String, Tensor> byName = new HashMap<>();
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                Tensor t = tensors.get(i);
                byName.put(name, t);
                DeviceBuffer b = values.slice(4L * t.size(), name);
                b.upload(stream, t.data());
                valueOf.put(name, b);
                if (trainable.contains(name)) {
                    gradOf.put(name, grads.slice(4L * t.size(), name + ".grad"));
                }
            }
            grads.buffer().fill(stream, 0);
            List<DeviceParameter> ps = new ArrayList<>();
            for (String name : trainable) {
                ps.add(new DeviceParameter(name, byName.get(name).shape(), valueOf.get(name), gradOf.get(name)));
            }
            parameters = List.copyOf(ps);
            stem = new Unit(graph.conv1, graph.bn1, true, first == 0);
            List<List<Bottleneck>> stages = graph.stages();
            for (int s = 1; s <= 4; s++) {
                for (Bottleneck b : stages.get(s - 1)) {
                    blocks.add(new Block(b, s, s >= first));
                }
            }
            stream.synchronize();
        } catch (RuntimeException | Error e) {
            releaseAll();
            throw e;
        }
    }

    private <T extends AutoCloseable> T own(T r) {
        owned.push(r);
        return r;
    }

    /** 0 = stem, 1..4 = layer1..layer4, 5 = head. */
    static int firstStage(Unfreeze u) {
        return switch (u) {
            case ALL -> 0;
            case LAYER1 -> 1;
            case LAYER2 -> 2;
            case LAYER3 -> 3;
            case LAYER4 -> 4;
            case FC -> 5;
        };
    }

    /** The stage a tensor name belongs to (0 stem, 1..4, 5 fc). */
    static int stageOf(String name) {
        if (name.startsWith("layer")) {
            return name.charAt(5) - '0';
        }
        return name.startsWith("fc.") ? HEAD : 0;
    }

    /**
     * Names of the trainable parameters in the graph's (state_dict) order: every PARAMETER tensor of the stages
     * from {@code unfreeze} on; the same list {@link TrainableResNet#parameters()} gives.
     */
    public static List<String> trainableParameterNames(ResNet50Graph graph, Unfreeze unfreeze) {
        int f = firstStage(unfreeze);
        List<String> out = new ArrayList<>();
        graph.visitTensors((name, t, kind) -> {
            if (kind == TensorVisitor.Kind.PARAMETER && stageOf(name) >= f) {
                out.add(name);
            }
        });
        return List.copyOf(out);
    }

    // ---------------------------------------------------------------- accessors

    public ResNet50Graph graph() {
        return graph;
    }

    public Unfreeze unfreeze() {
        return unfreeze;
    }

    public boolean trainBn() {
        return trainBn;
    }

    public int numClasses() {
        return graph.config.numClasses();
    }

    public TrainOps ops() {
        return ops;
    }

    /** The trainable parameters on the device, torchvision names in state_dict order. */
    public List<DeviceParameter> parameters() {
        return parameters;
    }

    /** Sets every gradient to zero (one memset, queued). */
    public synchronized void zeroGrad() {
        grads.buffer().fill(stream, 0);
    }

    /** Host copies of the gradients, by parameter name (waits for the stream). */
    public synchronized Map<String, Tensor> gradients() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (DeviceParameter p : parameters) {
            float[] v = new float[(int) p.count()];
            p.grad().download(stream, v);
            out.put(p.name(), new Tensor(p.shape(), v));
        }
        return out;
    }

    /** A host copy of one device tensor of the graph by name (waits for the stream). */
    public synchronized Tensor deviceTensor(String name) {
        DeviceBuffer b = valueOf.get(name);
        if (b == null) {
            throw new IllegalArgumentException("no tensor " + name);
        }
        float[] v = new float[(int) (b.bytes() / 4)];
        b.download(stream, v);
        Tensor[] shape = new Tensor[1];
        graph.visitTensors((n, t, k) -> {
            if (n.equals(name)) {
                shape[0] = t;
            }
        });
        return new Tensor(shape[0].shape(), v);
    }

    /**
     * Downloads every tensor of the trainable stages (parameters and BatchNorm running statistics) into
     * {@link #graph()}, which then is the current model; frozen tensors are left as they are. Waits for the stream.
     */
    public synchronized ResNet50Graph syncToGraph() {
        graph.visitTensors((name, t, kind) -> {
            if (stageOf(name) >= first) {
                valueOf.get(name).download(stream, t.data());
            }
        });
        return graph;
    }

    /** Uploads the graph's trainable-stage tensors to the device (after the host model was changed). */
    public synchronized void uploadFromGraph() {
        graph.visitTensors((name, t, kind) -> {
            if (stageOf(name) >= first) {
                valueOf.get(name).upload(stream, t.data());
            }
        });
    }

    /**
     * Uploads every tensor of the graph, frozen ones included, to the device (after the whole host model was
     * replaced, e.g. by a checkpoint's weights).
     */
    public synchronized void uploadAllFromGraph() {
        graph.visitTensors((name, t, kind) -> valueOf.get(name).upload(stream, t.data()));
    }

    // ---------------------------------------------------------------- buffers

    /** The buffer of role {@code key}, at least {@code bytes}; grows (after a stream sync) when too small. */
    private DeviceBuffer buf(String key, long bytes) {
        DeviceMemory m = buffers.get(key);
        if (m == null || m.bytes() < bytes) {
            if (m != null) {
                stream.synchronize();
                m.close();
            }
            m = DeviceMemory.allocate(Math.max(bytes, 4), "training " + key);
            buffers.put(key, m);
        }
        return m.buffer().slice(0, bytes);
    }

    private DeviceBuffer upload(String key, Tensor t) {
        DeviceBuffer b = buf(key, 4L * t.size());
        b.upload(stream, t.data());
        return b;
    }

    private Tensor download(DeviceBuffer b, int... dims) {
        Tensor t = Tensor.zeros(dims);
        b.download(stream, t.data());
        return t;
    }

    /** Largest per-image activation of the network for an h x w input (the stem's or layer1's output). */
    private static long maxPerImage(int h, int w) {
        int h1 = (h + 6 - 7) / 2 + 1, w1 = (w + 6 - 7) / 2 + 1;
        int h2 = TrainOps.poolOut(h1, POOL_K, POOL_P, POOL_S), w2 = TrainOps.poolOut(w1, POOL_K, POOL_P, POOL_S);
        return Math.max(64L * h1 * w1, 256L * h2 * w2);
    }

    // ---------------------------------------------------------------- inference-mode passes

    /** A device activation with its dims [n, c, h, w] (or [n, f] after pooling). */
    private record Act(DeviceBuffer buffer, int[] dims) {}

    private static void requireInput(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != 3 || x.dim(2) < 32 || x.dim(3) < 32) {
            throw new IllegalArgumentException("input must be [N, 3, H, W] with H, W >= 32, found " + x.shape());
        }
    }

    /**
     * Runs stages [from, to) in inference mode (BatchNorm on running statistics) on x [n,3,H,W] in "input", via
     * three rotating buffers; stage 5 (to = 6) includes the head, giving logits. Returns the last output.
     */
    private Act runEval(Act x, int from, int to) {
        return runEval(x, from, to, maxPerImage(x.dims()[2], x.dims()[3]));
    }

    /** {@link #runEval(Act, int, int)} with ring buffers of {@code per} elements per image. */
    private Act runEval(Act x, int from, int to, long per) {
        int n = x.dims()[0];
        DeviceBuffer[] ring = {buf("eval0", 4L * n * per), buf("eval1", 4L * n * per), buf("eval2", 4L * n * per)};
        Act cur = x;
        int at = 0; // the ring buffer holding cur (once the stem has run)
        if (from <= 0 && to > 0) {
            Act c1 = stem.evalForward(cur, ring[0]);
            int ph = TrainOps.poolOut(c1.dims()[2], POOL_K, POOL_P, POOL_S), pw = TrainOps.poolOut(c1.dims()[3], POOL_K, POOL_P, POOL_S);
            ops.maxPoolForward(n, 64, c1.dims()[2], c1.dims()[3], POOL_K, POOL_P, POOL_S, c1.buffer(), ring[1]);
            cur = new Act(ring[1], new int[] {n, 64, ph, pw});
            at = 1;
        }
        for (Block b : blocks) {
            if (b.stage >= Math.max(from, 1) && b.stage < to) {
                DeviceBuffer a = ring[(at + 1) % 3], c = ring[(at + 2) % 3];
                cur = b.evalForward(cur, a, c);
                at = (at + 1) % 3; // output is in a
            }
        }
        if (to > HEAD) {
            int[] d = cur.dims();
            DeviceBuffer p = buf("evalPooled", 4L * n * d[1]);
            ops.globalAvgPool(n, d[1], d[2], d[3], cur.buffer(), p);
            DeviceBuffer l = buf("evalLogits", 4L * n * numClasses());
            ops.linearForward(n, d[1], numClasses(), p, valueOf.get("fc.weight"), valueOf.get("fc.bias"), l);
            cur = new Act(l, new int[] {n, numClasses()});
        } else if (to == HEAD) {
            int[] d = cur.dims();
            DeviceBuffer p = buf("frozenPooled", 4L * n * d[1]);
            ops.globalAvgPool(n, d[1], d[2], d[3], cur.buffer(), p);
            cur = new Act(p, new int[] {n, d[1]});
        }
        return cur;
    }

    /** Inference-mode logits [N, classes] (every BatchNorm on running statistics); no caching. */
    public synchronized Tensor evalLogits(Tensor x) {
        requireInput(x);
        cached = false;
        Act out = runEval(new Act(upload("input", x), x.shape().dims()), 0, HEAD + 1);
        return download(out.buffer(), out.dims());
    }

    /**
     * Inference-mode logits [N, classes] from {@link #forwardFrozen}'s output, as
     * {@link TrainableResNet#evalFromFrozen}: the trainable suffix with every BatchNorm on its running statistics;
     * no caching. Equals {@link #evalLogits} of the original input.
     */
    public synchronized Tensor evalFromFrozen(Tensor frozen) {
        requireFrozen(frozen);
        if (first == 0) {
            return evalLogits(frozen);
        }
        cached = false;
        int n = frozen.dim(0);
        DeviceBuffer in = upload("frozenInput", frozen);
        if (first == HEAD) {
            DeviceBuffer l = buf("evalLogits", 4L * n * numClasses());
            ops.linearForward(n, ResNet50Config.FEATURES, numClasses(), in, valueOf.get("fc.weight"),
                    valueOf.get("fc.bias"), l);
            return download(l, n, numClasses());
        }
        int[] d = frozen.shape().dims();
        // From stage `first` on, no activation of an image exceeds 4 x its input (layer1's 64 -> 256 channels).
        Act out = runEval(new Act(in, d), first, HEAD + 1, 4L * d[1] * d[2] * d[3]);
        return download(out.buffer(), out.dims());
    }

    /**
     * The frozen prefix's output in inference mode, as {@link TrainableResNet#forwardFrozen}: x itself (all), the
     * max-pooled stem output (layer1), the output of the stage before the first trainable one, or the pooled
     * features [N, 2048] (fc). Downloaded to the host (for a feature cache).
     */
    public synchronized Tensor forwardFrozen(Tensor x) {
        requireInput(x);
        if (first == 0) {
            return x.copy();
        }
        cached = false;
        Act out = runEval(new Act(upload("input", x), x.shape().dims()), 0, first);
        return download(out.buffer(), out.dims());
    }

    // ---------------------------------------------------------------- training forward

    /** Logits [N, classes] of x, caching what {@link #backward} needs (frozen prefix on the device). */
    public synchronized Tensor forwardTrain(Tensor x) {
        Act l = forwardTrainDevice(x);
        return download(l.buffer(), l.dims());
    }

    /** Logits from {@link #forwardFrozen}'s output (e.g. a cached feature), caching for {@link #backward}. */
    public synchronized Tensor forwardFromFrozen(Tensor frozen) {
        Act l = forwardFromFrozenDevice(frozen);
        return download(l.buffer(), l.dims());
    }

    private Act forwardTrainDevice(Tensor x) {
        requireInput(x);
        Act in = new Act(upload("input", x), x.shape().dims());
        Act frozen = first == 0 ? in : runEval(in, 0, first);
        return runSuffix(frozen);
    }

    private void requireFrozen(Tensor frozen) {
        int[] channels = {3, 64, 256, 512, 1024, ResNet50Config.FEATURES};
        int c = channels[first];
        boolean ok = first == HEAD ? frozen.rank() == 2 && frozen.dim(1) == c : frozen.rank() == 4 && frozen.dim(1) == c;
        if (!ok) {
            throw new IllegalArgumentException("frozen features for unfreeze=" + unfreeze.id() + ": expected "
                    + (first == HEAD ? "[N, " + c + "]" : "[N, " + c + ", H, W]") + ", found " + frozen.shape());
        }
    }

    private Act forwardFromFrozenDevice(Tensor frozen) {
        requireFrozen(frozen);
        return runSuffix(new Act(upload("frozenInput", frozen), frozen.shape().dims()));
    }

    /** The trainable suffix from the frozen output {@code in} to the logits, caching activations. */
    private Act runSuffix(Act in) {
        int n = in.dims()[0];
        batch = n;
        suffixInput = in.buffer();
        suffixInDims = in.dims();
        suffixMax = count(in.dims());
        Act cur = in;
        if (first == 0) {
            Act c1 = stem.trainForward(cur, n);
            stemOut = c1.buffer();
            stemOutDims = c1.dims();
            int ph = TrainOps.poolOut(c1.dims()[2], POOL_K, POOL_P, POOL_S), pw = TrainOps.poolOut(c1.dims()[3], POOL_K, POOL_P, POOL_S);
            poolOut = buf("stem.pool", 4L * n * 64 * ph * pw);
            ops.maxPoolForward(n, 64, c1.dims()[2], c1.dims()[3], POOL_K, POOL_P, POOL_S, c1.buffer(), poolOut);
            cur = new Act(poolOut, new int[] {n, 64, ph, pw});
        }
        for (Block b : blocks) {
            if (b.trainable) {
                cur = b.trainForward(cur);
            }
        }
        int f = ResNet50Config.FEATURES;
        if (first < HEAD) {
            int[] d = cur.dims();
            lastMapDims = d;
            pooled = buf("pooled", 4L * n * d[1]);
            ops.globalAvgPool(n, d[1], d[2], d[3], cur.buffer(), pooled);
        } else {
            pooled = cur.buffer();
        }
        logits = buf("logits", 4L * n * numClasses());
        ops.linearForward(n, f, numClasses(), pooled, valueOf.get("fc.weight"), valueOf.get("fc.bias"), logits);
        cached = true;
        return new Act(logits, new int[] {n, numClasses()});
    }

    // ---------------------------------------------------------------- backward

    /** Adds the gradients for dLogits [N, classes] (host) of the last training forward; releases the caches. */
    public synchronized void backward(Tensor dLogits) {
        if (!cached) {
            throw new IllegalStateException("backward needs a preceding forwardTrain or forwardFromFrozen");
        }
        dLogits.require("backward dLogits", batch, numClasses());
        backwardDevice(upload("dLogits", dLogits));
    }

    private void backwardDevice(DeviceBuffer dLogits) {
        if (!cached) {
            throw new IllegalStateException("backward needs a preceding forwardTrain or forwardFromFrozen");
        }
        int n = batch, f = ResNet50Config.FEATURES;
        boolean needFeatureGrad = first < HEAD;
        DeviceBuffer dFeatures = needFeatureGrad ? buf("dFeatures", 4L * n * f) : null;
        ops.linearBackward(n, f, numClasses(), dLogits, pooled, valueOf.get("fc.weight"), dFeatures,
                gradOf.get("fc.weight"), gradOf.get("fc.bias"));
        if (needFeatureGrad) {
            long bytes = 4L * suffixMax;
            DeviceBuffer[] g = {buf("grad0", bytes), buf("grad1", bytes), buf("grad2", bytes)};
            DeviceBuffer scratch = buf("bnScratch", bytes);
            int[] d = lastMapDims;
            ops.kernels().globalAvgPoolBackward(stream, dFeatures, g[0], n, d[1], d[2] * d[3]);
            int at = 0;
            List<Block> train = new ArrayList<>();
            for (Block b : blocks) {
                if (b.trainable) {
                    train.add(b);
                }
            }
            for (int i = train.size() - 1; i >= 0; i--) {
                boolean needDx = i > 0 || first == 0;
                train.get(i).backward(g[at], g[(at + 1) % 3], g[(at + 2) % 3], scratch, needDx);
                at = (at + 1) % 3; // dx went to g[at + 1]
            }
            if (first == 0) {
                DeviceBuffer dAct = g[(at + 1) % 3];
                int[] s = stemOutDims;
                ops.maxPoolBackward(n, 64, s[2], s[3], POOL_K, POOL_P, POOL_S, stemOut, poolOut, g[at], dAct);
                stem.backward(dAct, null, scratch, false);
            }
        }
        cached = false;
    }

    // ---------------------------------------------------------------- the whole step

    /**
     * One optimisation step on images [N,3,H,W] with class labels: zero the gradients, training forward, mean
     * softmax cross-entropy with {@code labelSmoothing}, backward, optional global-norm clipping (skipped when
     * {@code maxGradNorm} is NaN or <= 0), then {@code optimizer}'s update with {@code lr}. Returns the loss, the
     * logits (host) and the gradient norm before clipping.
     */
    public synchronized StepResult trainStep(Tensor images, int[] labels, float lr, GpuOptimizer optimizer,
                                             float labelSmoothing, float maxGradNorm) {
        requireInput(images);
        checkLabels(labels, images.dim(0), labelSmoothing);
        zeroGrad();
        Act l = forwardTrainDevice(images);
        return finishStep(l, labels, lr, optimizer, labelSmoothing, maxGradNorm);
    }

    /** {@link #trainStep} from {@link #forwardFrozen}'s output (the feature cache). */
    public synchronized StepResult trainStepFromFrozen(Tensor frozen, int[] labels, float lr, GpuOptimizer optimizer,
                                                       float labelSmoothing, float maxGradNorm) {
        checkLabels(labels, frozen.dim(0), labelSmoothing);
        zeroGrad();
        Act l = forwardFromFrozenDevice(frozen);
        return finishStep(l, labels, lr, optimizer, labelSmoothing, maxGradNorm);
    }

    private void checkLabels(int[] labels, int n, float labelSmoothing) {
        if (labels.length != n) {
            throw new IllegalArgumentException(n + " images but " + labels.length + " labels");
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= numClasses()) {
                throw new IllegalArgumentException("labels[" + i + "] = " + labels[i] + " is not a class index in [0, "
                        + numClasses() + ")");
            }
        }
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1], found " + labelSmoothing);
        }
    }

    private StepResult finishStep(Act l, int[] labels, float lr, GpuOptimizer optimizer, float labelSmoothing,
                                  float maxGradNorm) {
        int n = l.dims()[0], k = numClasses();
        ByteBuffer bb = ByteBuffer.allocate(4 * n).order(ByteOrder.nativeOrder());
        for (int y : labels) {
            bb.putInt(y);
        }
        DeviceBuffer targets = buf("targets", 4L * n);
        targets.upload(stream, bb.array());
        DeviceBuffer dLogits = buf("dLogitsDevice", 4L * n * k);
        DeviceBuffer rowLoss = buf("rowLoss", 8L * n);
        DeviceBuffer loss = buf("loss", 8);
        ops.kernels().softmaxCrossEntropy(stream, l.buffer(), targets, dLogits, rowLoss, loss, n, k, labelSmoothing);
        Tensor hostLogits = download(l.buffer(), n, k);
        float[] lv = new float[1];
        loss.slice(0, 4).download(stream, lv);
        if (!Float.isFinite(lv[0])) {
            // As the CPU backend: no update, so the caller can stop with the weights intact.
            cached = false;
            return new StepResult(lv[0], hostLogits, Float.NaN);
        }
        backwardDevice(dLogits);
        float norm = Float.NaN;
        if (maxGradNorm > 0) {
            DeviceBuffer sumsq = buf("sumsq", 8L * parameters.size());
            for (int i = 0; i < parameters.size(); i++) {
                DeviceParameter p = parameters.get(i);
                ops.kernels().gradSumSquares(stream, p.grad(), sumsq, p.count(), i);
            }
            DeviceBuffer coef = buf("clipCoef", 8);
            ops.kernels().clipCoefficient(stream, sumsq, coef, parameters.size(), maxGradNorm);
            for (DeviceParameter p : parameters) {
                ops.kernels().scaleByDevice(stream, p.grad(), coef, p.count());
            }
            float[] c = new float[2];
            coef.download(stream, c);
            norm = c[1];
        }
        optimizer.step(ops, parameters, lr);
        return new StepResult(lv[0], hostLogits, norm);
    }

    /**
     * Mean loss and dLogits of the last training forward's logits against labels, without a backward (for
     * tests): {float loss, dLogits...} on the host.
     */
    public synchronized Tensor lossGradient(int[] labels, float labelSmoothing, float[] lossOut) {
        if (!cached) {
            throw new IllegalStateException("lossGradient needs a preceding training forward");
        }
        int n = batch, k = numClasses();
        checkLabels(labels, n, labelSmoothing);
        ByteBuffer bb = ByteBuffer.allocate(4 * n).order(ByteOrder.nativeOrder());
        for (int y : labels) {
            bb.putInt(y);
        }
        DeviceBuffer targets = buf("targets", 4L * n);
        targets.upload(stream, bb.array());
        DeviceBuffer d = buf("dLogitsDevice", 4L * n * k);
        DeviceBuffer rowLoss = buf("rowLoss", 8L * n);
        DeviceBuffer loss = buf("loss", 8);
        ops.kernels().softmaxCrossEntropy(stream, logits, targets, d, rowLoss, loss, n, k, labelSmoothing);
        float[] lv = new float[1];
        loss.slice(0, 4).download(stream, lv);
        lossOut[0] = lv[0];
        return download(d, n, k);
    }

    // ---------------------------------------------------------------- pieces

    /** A convolution followed by BatchNorm, optionally ReLU, on the device. */
    private final class Unit {
        final String name;
        final int k, c, r, stride, pad;
        final boolean relu, trainable;
        final DeviceBuffer w, gamma, beta, mean, var;
        final DeviceBuffer dW, dGamma, dBeta;
        // training caches
        DeviceBuffer input, pre, out, saveMean, saveInvStd;
        int[] inDims, outDims;
        TrainOps.ConvShape shape;

        Unit(Conv2d conv, BatchNorm2d bn, boolean relu, boolean trainable) {
            this.name = conv.name;
            this.k = conv.outChannels;
            this.c = conv.inChannels;
            this.r = conv.kernel;
            this.stride = conv.stride;
            this.pad = conv.padding;
            this.relu = relu;
            this.trainable = trainable;
            w = valueOf.get(conv.name + ".weight");
            gamma = valueOf.get(bn.name + ".weight");
            beta = valueOf.get(bn.name + ".bias");
            mean = valueOf.get(bn.name + ".running_mean");
            var = valueOf.get(bn.name + ".running_var");
            dW = gradOf.get(conv.name + ".weight");
            dGamma = gradOf.get(bn.name + ".weight");
            dBeta = gradOf.get(bn.name + ".bias");
            if (w == null || gamma == null || beta == null || mean == null || var == null
                    || (trainable && (dW == null || dGamma == null || dBeta == null))) {
                throw new IllegalStateException("tensors of " + conv.name + " / " + bn.name + " are missing");
            }
        }

        TrainOps.ConvShape shapeFor(int[] d) {
            return ops.conv(new TrainOps.ConvKey(d[0], c, d[2], d[3], k, r, r, stride, pad));
        }

        /** Inference mode into {@code y} (conv output, then BatchNorm in place). */
        Act evalForward(Act x, DeviceBuffer y) {
            TrainOps.ConvShape s = shapeFor(x.dims());
            int n = x.dims()[0], p = s.key.p(), q = s.key.q();
            DeviceBuffer yb = y.slice(0, 4L * n * k * p * q);
            ops.convForward(s, x.buffer(), w, yb);
            ops.bnEvalForward(n, k, p * q, yb, yb, gamma, beta, mean, var, relu);
            return new Act(yb, new int[] {n, k, p, q});
        }

        Act trainForward(Act x, int n) {
            shape = shapeFor(x.dims());
            int p = shape.key.p(), q = shape.key.q();
            input = x.buffer();
            inDims = x.dims();
            outDims = new int[] {n, k, p, q};
            suffixMax = Math.max(suffixMax, count(outDims));
            long bytes = 4L * n * k * p * q;
            pre = buf(name + ".pre", bytes);
            out = buf(name + ".out", bytes);
            ops.convForward(shape, input, w, pre);
            if (trainBn) {
                saveMean = buf(name + ".saveMean", 4L * k);
                saveInvStd = buf(name + ".saveInvStd", 4L * k);
                ops.bnTrainForward(n, k, p, q, pre, out, gamma, beta, mean, var, saveMean, saveInvStd);
                if (relu) {
                    ops.reluForward(n, k, p, q, out, out);
                }
            } else {
                ops.bnEvalForward(n, k, p * q, pre, out, gamma, beta, mean, var, relu);
            }
            return new Act(out, outDims);
        }

        /**
         * dOut (consumed: ReLU's backward works in place) to the input gradient {@code dx} (written, or added when
         * {@code accumulate}); scratch holds the BatchNorm input gradient.
         */
        void backward(DeviceBuffer dOut, DeviceBuffer dx, DeviceBuffer scratch, boolean accumulate) {
            int n = outDims[0], p = outDims[2], q = outDims[3];
            long count = (long) n * k * p * q;
            DeviceBuffer dy = dOut.slice(0, 4 * count);
            if (relu) {
                ops.kernels().reluBackward(stream, dy, out, dy, count);
            }
            DeviceBuffer dPre = scratch.slice(0, 4 * count);
            if (trainBn) {
                ops.bnTrainBackward(n, k, p, q, pre, dy, dPre, gamma, dGamma, dBeta, saveMean, saveInvStd);
            } else {
                ops.bnEvalBackward(n, k, p * q, pre, dy, dPre, gamma, mean, var, dGamma, dBeta);
            }
            ops.convBackwardFilter(shape, input, dPre, dW);
            if (dx != null) {
                long inBytes = 4L * inDims[0] * inDims[1] * inDims[2] * inDims[3];
                ops.convBackwardData(shape, w, dPre, dx.slice(0, inBytes), accumulate);
            }
        }
    }

    /** A bottleneck on the device. */
    private final class Block {
        final int stage;
        final boolean trainable;
        final Unit u1, u2, u3, shortcut;
        final String name;
        DeviceBuffer output;
        int[] inDims, outDims;

        Block(Bottleneck b, int stage, boolean trainable) {
            this.stage = stage;
            this.trainable = trainable;
            this.name = b.name;
            u1 = new Unit(b.conv1, b.bn1, true, trainable);
            u2 = new Unit(b.conv2, b.bn2, true, trainable);
            u3 = new Unit(b.conv3, b.bn3, false, trainable);
            shortcut = b.downsampleConv == null ? null : new Unit(b.downsampleConv, b.downsampleBn, false, trainable);
        }

        /** Inference mode: x is read, output in {@code a}, {@code c} is scratch; x's buffer is left intact. */
        Act evalForward(Act x, DeviceBuffer a, DeviceBuffer c) {
            Act t1 = u1.evalForward(x, a);
            Act t2 = u2.evalForward(t1, c);
            Act t3 = u3.evalForward(t2, a);
            Act s = shortcut == null ? x : shortcut.evalForward(x, c);
            long count = count(t3.dims());
            ops.kernels().addRelu(stream, t3.buffer(), s.buffer(), t3.buffer(), count);
            return t3;
        }

        Act trainForward(Act x) {
            int n = x.dims()[0];
            inDims = x.dims();
            Act t3 = u3.trainForward(u2.trainForward(u1.trainForward(x, n), n), n);
            Act s = shortcut == null ? x : shortcut.trainForward(x, n);
            outDims = t3.dims();
            long count = count(outDims);
            output = buf(name + ".output", 4 * count);
            ops.kernels().addRelu(stream, t3.buffer(), s.buffer(), output, count);
            return new Act(output, outDims);
        }

        /**
         * dOut in {@code a} (the block output's gradient) to the input gradient in {@code b} (when needDx);
         * {@code c} and {@code scratch} are scratch. {@code a} survives ReLU's backward for the shortcut.
         */
        void backward(DeviceBuffer a, DeviceBuffer b, DeviceBuffer c, DeviceBuffer scratch, boolean needDx) {
            long count = count(outDims);
            DeviceBuffer dOut = a.slice(0, 4 * count);
            ops.kernels().reluBackward(stream, dOut, output, dOut, count);
            // u3 does not modify its dOut (no ReLU): a stays the sum's gradient for the shortcut.
            u3.backward(dOut, b, scratch, false);   // dt2 -> b
            u2.backward(b, c, scratch, false);      // dt1 -> c
            u1.backward(c, needDx ? b : null, scratch, false);  // dx -> b
            if (shortcut != null) {
                shortcut.backward(dOut, needDx ? b : null, scratch, true);
            } else if (needDx) {
                ops.kernels().addInPlace(stream, b, dOut, count);
            }
        }
    }

    private static long count(int[] d) {
        long c = 1;
        for (int v : d) {
            c *= v;
        }
        return c;
    }

    // ---------------------------------------------------------------- lifecycle

    private void releaseAll() {
        for (DeviceMemory m : buffers.values()) {
            try {
                m.close();
            } catch (RuntimeException e) {
                // best effort
            }
        }
        buffers.clear();
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                // best effort
            }
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (!stream.isClosed()) {
                stream.synchronize();
            }
        } catch (RuntimeException e) {
            // closing after a failure
        }
        releaseAll();
    }

    /** The device's description, for logs. */
    public String describe() {
        return "cuda (" + context.device() + ", " + ops.precision().name().toLowerCase(java.util.Locale.ROOT)
                + ", unfreeze " + unfreeze.id() + (trainBn ? ", train BatchNorm" : "") + ")";
    }

    @SuppressWarnings("unused")
    private static Shape shapeOf(int... d) {
        return Shape.of(d);
    }
}
