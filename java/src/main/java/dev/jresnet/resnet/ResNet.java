package dev.jresnet.resnet;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.cuda.ConvAlgorithms;
import dev.jresnet.cuda.CudaAvailability;
import dev.jresnet.cuda.CudaException;
import dev.jresnet.cuda.CudaResNet;
import dev.jresnet.cuda.DeviceTensor;
import dev.jresnet.cuda.NetworkPlan;
import dev.jresnet.dnnl.CpuEngines;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.ArchitectureMatch;
import dev.jresnet.graph.CpuEngine;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.Variant;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.Preset;
import dev.jresnet.image.RgbImage;
import dev.jresnet.io.FileChecks;
import dev.jresnet.nn.Dims;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.onnx.OnnxImporter;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.IncompatibleWeightsException;
import dev.jresnet.weights.WeightSet;
import dev.jresnet.weights.WeightSets;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A ResNet (resnet50 by default, or any {@link Architecture} of torchvision's family) ready for inference: weights,
 * labels, preprocessing preset and the device it runs on. A model is immutable after {@link Builder#build()} and
 * safe to call from several threads at once: on the CPU each call allocates its own activations; on CUDA each call
 * borrows an execution context (stream, handles, activation buffers, CUDA graphs) from the model's pool, see
 * {@link CudaResNet}. Close it when done: it owns device memory on the GPU; any call after {@link #close()} throws
 * IllegalStateException.
 *
 * <pre>{@code
 * try (ResNet model = ResNet.load(Path.of("resnet50.pth"), Device.cpu())) {
 *     List<Prediction> top5 = model.classify(ImageDecoder.decode(Path.of("cat.jpg")), 5);
 * }
 * }</pre>
 */
public final class ResNet implements AutoCloseable {
    /** safetensors metadata keys that jresnet writes and reads. */
    public static final String META_ARCHITECTURE = ArchitectureMatch.META_ARCHITECTURE;
    public static final String META_VARIANT = ArchitectureMatch.META_VARIANT;
    public static final String META_PRESET = "jresnet.preset";
    public static final String META_CLASSES = "jresnet.classes";
    public static final String META_SOURCE = "jresnet.source";
    /** The input side a model was fine-tuned at (written by {@code FineTuner}); the default of {@link #inputSize()}. */
    public static final String META_IMAGE_SIZE = "jresnet.image_size";

    private final Network network;
    private final CpuEngine cpu;
    private final Device device;
    private final Preset preset;
    private final int inputSize;
    private final List<String> labels;
    private final String weightsDescription;
    private final boolean pretrained;
    private final Precision precision;
    private final CudaResNet cuda;
    private final int asyncThreads;
    private ExecutorService asyncExecutor;
    private volatile boolean closed;

    private ResNet(Network network, Device device, Preset preset, int inputSize, List<String> labels,
                   String weightsDescription, boolean pretrained, Precision precision, CudaResNet cuda,
                   int asyncThreads) {
        this.network = network;
        this.cpu = cuda == null ? CpuEngines.open(network) : null;
        this.device = device;
        this.preset = preset;
        this.inputSize = inputSize;
        this.labels = labels;
        this.weightsDescription = weightsDescription;
        this.pretrained = pretrained;
        this.precision = precision;
        this.cuda = cuda;
        this.asyncThreads = asyncThreads;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Loads a {@code .pth}, {@code .safetensors} or {@code .onnx} file onto {@code device}. A null file is refused
     * (NullPointerException naming it), never read as "no file": {@link #untrained} makes the seeded model.
     */
    public static ResNet load(Path weights, Device device) throws IOException {
        Objects.requireNonNull(weights, "weights (ResNet.load needs a file; ResNet.untrained(seed, device) makes the "
                + "seeded untrained model)");
        Objects.requireNonNull(device, "device");
        return builder().weights(weights).device(device).build();
    }

    /** torchvision's initialisation with a fixed seed: deterministic, untrained (predictions are noise). */
    public static ResNet untrained(long seed, Device device) {
        try {
            return builder().seed(seed).device(device).build();
        } catch (IOException e) {
            throw new IllegalStateException("unreachable: no file is read", e);
        }
    }

    /** Logits [N, classes] of a preprocessed batch [N, 3, H, W]. */
    public Tensor forward(Tensor batch) {
        requireOpen();
        requireBatch(batch);
        if (cuda == null) {
            return cpu.forward(batch);
        }
        requireCudaInput(batch.dim(2), batch.dim(3), batch.shape().toString());
        int n = batch.dim(0);
        return new Tensor(Shape.of(n, network.numClasses()), cuda.logits(batch.data(), n));
    }

    private static void requireBatch(Tensor batch) {
        Objects.requireNonNull(batch, "batch");
        if (!(batch.rank() == 4 && batch.dim(1) == 3)) {
            throw new IllegalArgumentException("input batch must be [N, 3, H, W], found " + batch.shape());
        }
        batch.requireFinite("input batch");
    }

    private void requireCudaInput(int h, int w, String shape) {
        Dims in = cuda.plan().input();
        if (h != in.h() || w != in.w()) {
            throw new IllegalArgumentException("the CUDA engine is planned for [N, 3, " + in.h() + ", " + in.w()
                    + "] inputs (the preset's crop), found " + shape);
        }
    }

    /**
     * Logits of {@code n} preprocessed images read from {@code in} ([n][3][H][W] NCHW fp32, from its position)
     * written to {@code out} ([n][classes], at its position); positions are left unchanged. Use direct
     * buffers: on CUDA they are copied once to pinned memory and back.
     */
    public void logits(FloatBuffer in, int n, FloatBuffer out) {
        requireOpen();
        if (cuda != null) {
            cuda.logits(in, n, out);
            return;
        }
        int size = inputSize;
        int per = 3 * size * size, classes = network.numClasses();
        if (n < 1 || in.remaining() < (long) n * per || out.remaining() < (long) n * classes) {
            throw new IllegalArgumentException("logits: " + n + " images need " + (long) n * per + " input floats ("
                    + in.remaining() + " remaining) and " + (long) n * classes + " output floats (" + out.remaining()
                    + " remaining)");
        }
        Tensor batch = Tensor.zeros(n, 3, size, size);
        in.duplicate().get(batch.data());
        out.duplicate().put(forward(batch).data());
    }

    /** A device tensor [n, 3, H, W] fp32 for {@link #logits(DeviceTensor, DeviceTensor)} (CUDA models only). */
    public DeviceTensor allocateInput(int n) {
        return requireCuda("device tensors").allocateInput(n);
    }

    /** A device tensor [n, classes] fp32 for the logits (CUDA models only). */
    public DeviceTensor allocateOutput(int n) {
        return requireCuda("device tensors").allocateOutput(n);
    }

    /** Logits of a device-resident batch into a device-resident tensor, without host copies (CUDA only). */
    public void logits(DeviceTensor in, DeviceTensor out) {
        requireCuda("device tensors").logits(in, out);
    }

    /**
     * A dynamic batcher over this model, for many threads that submit one image at a time (a server): see
     * {@link BatchingPredictor}. Close the predictor before the model.
     */
    public BatchingPredictor.Builder batching() {
        requireOpen();
        return BatchingPredictor.builder(this);
    }

    /** {@link #logits(Tensor)} on the model's worker threads. */
    public CompletableFuture<float[][]> logitsAsync(Tensor batch) {
        requireOpen();
        return CompletableFuture.supplyAsync(() -> logits(batch), executor());
    }

    private synchronized ExecutorService executor() {
        requireOpen();
        if (asyncExecutor == null) {
            asyncExecutor = Executors.newFixedThreadPool(asyncThreads, r -> {
                Thread t = new Thread(r, "jresnet-async");
                t.setDaemon(true);
                return t;
            });
        }
        return asyncExecutor;
    }

    private CudaResNet requireCuda(String what) {
        requireOpen();
        if (cuda == null) {
            throw new IllegalStateException(what + " need a CUDA model; this one runs on " + device);
        }
        return cuda;
    }

    /** The CUDA engine of this model, for contexts and device-level calls; empty on the CPU. */
    public Optional<CudaResNet> cudaEngine() {
        requireOpen();
        return Optional.ofNullable(cuda);
    }

    /** The precision the model computes in (always FP32 on the CPU). */
    public Precision precision() {
        requireOpen();
        return cuda == null ? Precision.FP32 : precision;
    }

    /** The device's description plus, on CUDA, the GPU, precision and graph buckets. */
    public String deviceDescription() {
        requireOpen();
        if (cuda == null) {
            return device.description() + (precision != Precision.FP32 ? " (precision " + precision.id()
                    + " requested; the CPU engine computes in fp32)" : "");
        }
        return device.description() + ": " + cuda.describe();
    }

    /** Logits as one row per image: [N][classes] of a preprocessed batch [N, 3, H, W]. */
    public float[][] logits(Tensor batch) {
        Tensor l = forward(batch);
        return split(l.data(), l.dim(0), l.dim(1));
    }

    /**
     * The model's preprocessing (resize, crop, normalise) of one image: [3, S, S] with S = {@link #inputSize()}
     * (224 unless the model was fine-tuned at another size).
     */
    public Tensor preprocess(RgbImage image) {
        requireOpen();
        return preset.preprocess(image, inputSize);
    }

    /**
     * A batch [N, 3, S, S] for {@link #logits(Tensor)} or {@link #features(Tensor)}: image i preprocessed as
     * {@link #preprocess(RgbImage)} does, at [i] (N >= 1). It holds 3 x S x S floats per image (600 KB at 224): for many
     * images, {@link #classify(List, int)} and {@link #features(List)} crop as they go instead.
     */
    public Tensor preprocess(List<RgbImage> images) {
        requireOpen();
        Objects.requireNonNull(images, "images");
        int n = images.size(), per = 3 * inputSize * inputSize;
        if (n == 0) {
            throw new IllegalArgumentException("preprocess needs at least one image (a tensor has no empty dimension)");
        }
        Tensor batch = Tensor.zeros(n, 3, inputSize, inputSize);
        for (int i = 0; i < n; i++) {
            RgbImage image = images.get(i);
            if (image == null) {
                throw new IllegalArgumentException("image " + i + " is null");
            }
            System.arraycopy(preset.preprocess(image, inputSize).data(), 0, batch.data(), i * per, per);
        }
        return batch;
    }

    /** Channels of the pooled features the classifier reads: 2048 for resnet50, 512 for resnet18 and resnet34. */
    public int featureSize() {
        requireOpen();
        return network.architecture().features();
    }

    /** Channels of the features at {@code layer}: its stage's output channels (resnet50 layer3: 1024). */
    public int featureSize(FeatureLayer layer) {
        requireOpen();
        Objects.requireNonNull(layer, "layer");
        NetworkSpec spec = network.spec();
        return spec.channels(spec.steps().get(stageEnd(spec, layer) - 1).out());
    }

    /**
     * The pooled features of a preprocessed batch [N, 3, H, W]: row i is image i's global average pool of the last
     * stage ([N][{@link #featureSize()}]), the vector the classifier maps to logits (logits = features · fcᵀ + b), for
     * embeddings, similarity search or a classifier of your own. On CUDA, fp32 in every precision.
     */
    public float[][] features(Tensor batch) {
        return features(batch, FeatureLayer.POOL);
    }

    /**
     * The features of a preprocessed batch [N, 3, H, W] at {@code layer}: row i is the global average pool of that
     * stage's output for image i ([N][{@link #featureSize(FeatureLayer)}]). On CUDA only the classifier's input
     * ({@link FeatureLayer#POOL}, {@link FeatureLayer#LAYER4}); another layer there is an UnsupportedOperationException.
     */
    public float[][] features(Tensor batch, FeatureLayer layer) {
        requireOpen();
        requireBatch(batch);
        requireLayer(layer);
        int n = batch.dim(0);
        float[] rows = cuda == null ? cpuFeatures(batch, layer) : cudaFeatures(batch);
        return split(rows, n, featureSize(layer));
    }

    private float[] cudaFeatures(Tensor batch) {
        requireCudaInput(batch.dim(2), batch.dim(3), batch.shape().toString());
        return cuda.features(batch.data(), batch.dim(0));
    }

    /** Rows [N * C] of a normalised batch: the classifier's input, or the named stage's output [N, C, h, w] pooled. */
    private float[] cpuFeatures(Tensor batch, FeatureLayer layer) {
        if (layer.isClassifierInput()) {
            return cpu.features(batch).data();
        }
        Tensor stage = cpu.forwardTo(batch, stageEnd(cpu.spec(), layer));  // [N, C, h, w]
        Tensor pooled = Tensor.zeros(stage.dim(0), stage.dim(1));        // [N, C]
        CpuOps.globalAvgPool(pooled, stage);
        return pooled.data();
    }

    /** The first step after {@code layer}'s stage in {@code spec} (the plain description or its fused form). */
    private static int stageEnd(NetworkSpec spec, FeatureLayer layer) {
        List<NetworkSpec.Stage> stages = spec.stages();
        for (int i = 0; i < stages.size(); i++) {
            if (stages.get(i).name().equals(layer.stage())) {
                return i + 1 < stages.size() ? stages.get(i + 1).firstStep() : spec.steps().size();
            }
        }
        throw new IllegalStateException(spec.name() + " has no stage " + layer.stage());
    }

    /** A layer this model's device computes: on CUDA only the classifier's input, said in one line with the fix. */
    private void requireLayer(FeatureLayer layer) {
        Objects.requireNonNull(layer, "layer");
        if (cuda != null && !layer.isClassifierInput()) {
            throw new UnsupportedOperationException("features at " + layer.id() + " are computed on the CPU engine "
                    + "only, not on " + device + ": the CUDA engine gives the pooled features (FeatureLayer.POOL); "
                    + "build the model on Device.cpu() for " + layer.id());
        }
    }

    /**
     * The pooled features of each image ([N][{@link #featureSize()}], in input order), cropped as its batch is
     * formed as {@link #classify(List, int)} does, so only one batch of crops is held at a time.
     */
    public float[][] features(List<RgbImage> images) {
        return features(images, FeatureLayer.POOL);
    }

    /** As {@link #features(List)}, at {@code layer} (see {@link #features(Tensor, FeatureLayer)}). */
    public float[][] features(List<RgbImage> images, FeatureLayer layer) {
        requireOpen();
        Objects.requireNonNull(images, "images");
        requireLayer(layer);
        float[][] out = new float[images.size()][];
        int chunk = cuda != null ? 256 : MAX_CPU_BATCH;
        for (int start = 0; start < images.size(); start += chunk) {
            int m = Math.min(chunk, images.size() - start);
            System.arraycopy(featuresOfCrops(crops(images, start, m), layer), 0, out, start, m);
        }
        return out;
    }

    /**
     * The features at {@code layer} of crops made by {@link #crop} ([N][{@link #featureSize(FeatureLayer)}]),
     * normalised on the GPU on CUDA, else as {@link Preset#normalize} does, then run in batches of at most
     * {@link #MAX_CPU_BATCH} on the CPU: what a caller that crops as it reads (the CLI, a Spark partition) embeds.
     */
    public float[][] featuresOfCrops(List<RgbImage> crops, FeatureLayer layer) {
        requireOpen();
        requireLayer(layer);
        requireCrops(crops);
        int n = crops.size(), size = featureSize(layer);
        float[][] out = new float[n][];
        if (cuda != null && n > 0) {
            return split(cuda.featuresOfCrops(crops, preset.mean(), preset.std()), n, size);
        }
        for (int start = 0; start < n; start += MAX_CPU_BATCH) {
            int m = Math.min(MAX_CPU_BATCH, n - start);
            float[] rows = cpuFeatures(normalized(crops.subList(start, start + m)), layer);
            System.arraycopy(split(rows, m, size), 0, out, start, m);
        }
        return out;
    }

    /** Crops of the input size as one normalised batch [N, 3, S, S]. */
    private Tensor normalized(List<RgbImage> crops) {
        int per = 3 * inputSize * inputSize;
        Tensor batch = Tensor.zeros(crops.size(), 3, inputSize, inputSize);
        for (int i = 0; i < crops.size(); i++) {
            System.arraycopy(preset.normalize(crops.get(i), inputSize).data(), 0, batch.data(), i * per, per);
        }
        return batch;
    }

    private static float[][] split(float[] rowMajor, int n, int width) {
        float[][] rows = new float[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = Arrays.copyOfRange(rowMajor, i * width, (i + 1) * width);
        }
        return rows;
    }

    /**
     * The model's resize and center crop of one image: an {@code S x S} 8-bit image, S = {@link #inputSize()}.
     * Only the crop's pixels are computed, so any aspect ratio is bounded; a caller reading many large photos keeps
     * this (S x S x 3 bytes) and drops the decoded image at once.
     */
    public RgbImage crop(RgbImage image) {
        requireOpen();
        Objects.requireNonNull(image, "image");
        return preset.resizeAndCrop(image, inputSize);
    }

    /**
     * Logits [N, classes] of crops made by {@link #crop}: normalised on the GPU on CUDA, else as
     * {@link Preset#normalize} does, then run in batches of at most {@link #MAX_CPU_BATCH} on the CPU.
     */
    public Tensor logitsOfCrops(List<RgbImage> crops) {
        requireOpen();
        requireCrops(crops);
        int n = crops.size();
        int classes = network.numClasses();
        if (n == 0) {
            return Tensor.zeros(0, classes);
        }
        if (cuda != null) {
            return new Tensor(Shape.of(n, classes), cuda.logitsOfCrops(crops, preset.mean(), preset.std()));
        }
        float[] out = new float[Math.multiplyExact(n, classes)];
        int per = 3 * inputSize * inputSize;
        for (int start = 0; start < n; start += MAX_CPU_BATCH) {
            int m = Math.min(MAX_CPU_BATCH, n - start);
            Tensor batch = Tensor.zeros(m, 3, inputSize, inputSize);
            for (int i = 0; i < m; i++) {
                System.arraycopy(preset.normalize(crops.get(start + i), inputSize).data(), 0, batch.data(), i * per, per);
            }
            System.arraycopy(forward(batch).data(), 0, out, start * classes, m * classes);
        }
        return new Tensor(Shape.of(n, classes), out);
    }

    private void requireCrops(List<RgbImage> crops) {
        Objects.requireNonNull(crops, "crops");
        for (int i = 0; i < crops.size(); i++) {
            RgbImage c = crops.get(i);
            if (c == null || c.width() != inputSize || c.height() != inputSize) {
                throw new IllegalArgumentException("crop " + i + " must be " + inputSize + "x" + inputSize
                        + " (ResNet.crop makes it), got " + (c == null ? "null" : c.width() + "x" + c.height()));
            }
        }
    }

    /**
     * Images one CPU forward pass of {@link #classify(List, int)} or {@link #logitsOfCrops} takes: a longer list is
     * run in passes of this many, so the activations stay bounded (resnet50: about 25 MB per image).
     */
    public static final int MAX_CPU_BATCH = 32;

    /**
     * The side of the square inputs {@link #preprocess} makes and the CUDA engine is planned for: the builder's
     * {@link Builder#imageSize}, else the weights' {@link #META_IMAGE_SIZE} metadata (the size a fine-tuned model
     * was trained at), else the preset's crop size.
     */
    public int inputSize() {
        requireOpen();
        return inputSize;
    }

    /** Top-{@code k} classes of one image. */
    public List<Prediction> classify(RgbImage image, int k) {
        requireOpen();
        Objects.requireNonNull(image, "image");
        return classify(List.of(image), k).get(0);
    }

    /**
     * Top-{@code k} classes of an image already in memory (from a UI, a camera, {@code ImageIO.read}); its pixels are
     * read as {@link ImageDecoder#decode(BufferedImage)} reads them.
     */
    public List<Prediction> classify(BufferedImage image, int k) {
        requireOpen();
        Objects.requireNonNull(image, "image");
        return classify(ImageDecoder.decode(image), k);
    }

    /** The crops of images[start, start + m), as the preset makes them; a null image is named by its index. */
    private List<RgbImage> crops(List<RgbImage> images, int start, int m) {
        List<RgbImage> crops = new ArrayList<>(m);
        for (int i = 0; i < m; i++) {
            RgbImage image = images.get(start + i);
            if (image == null) {
                throw new IllegalArgumentException("image " + (start + i) + " is null");
            }
            crops.add(preset.resizeAndCrop(image, inputSize));
        }
        return crops;
    }

    /**
     * Top-{@code k} classes of each image, in input order. Each image is cropped ({@link #crop}) as its batch is
     * formed, and batches are at most {@link #MAX_CPU_BATCH} images on the CPU, so this holds only the crops of one
     * batch besides the caller's images. An image whose logits are not finite (weights that overflow float32) is
     * refused with an IllegalArgumentException naming its position.
     */
    public List<List<Prediction>> classify(List<RgbImage> images, int k) {
        requireOpen();
        Objects.requireNonNull(images, "images");
        checkK(k);
        List<List<Prediction>> all = new ArrayList<>(images.size());
        int chunk = cuda != null ? 256 : MAX_CPU_BATCH; // 256: the largest default CUDA graph bucket
        for (int start = 0; start < images.size(); start += chunk) {
            int m = Math.min(chunk, images.size() - start);
            List<RgbImage> crops = crops(images, start, m);
            Tensor logits = logitsOfCrops(crops);
            for (int i = 0; i < m; i++) {
                String bad = nonFinite(logits, i);
                if (bad != null) {
                    throw new IllegalArgumentException("image " + (start + i) + ": " + bad);
                }
            }
            all.addAll(topK(logits, k));
        }
        return List.copyOf(all);
    }

    /**
     * Why row {@code row} of logits [N, classes] cannot be turned into probabilities ("the logits are not finite
     * (Infinity at class 17): the weights overflow float32 on this input"), or null when every value is finite.
     */
    public static String nonFinite(Tensor logits, int row) {
        int classes = logits.dim(1);
        float[] d = logits.data();
        for (int c = 0; c < classes; c++) {
            float v = d[row * classes + c];
            if (!Float.isFinite(v)) {
                return "the logits are not finite (" + v + " at class " + c + "): the weights overflow float32 on "
                        + "this input";
            }
        }
        return null;
    }

    private void checkK(int k) {
        int classes = network.numClasses();
        if (k < 1 || k > classes) {
            throw new IllegalArgumentException("top-k must be in 1.." + classes + ", got " + k);
        }
    }

    /** Softmax and the {@code k} most probable classes of each row of logits [N, classes]. */
    public List<List<Prediction>> topK(Tensor logits, int k) {
        requireOpen();
        if (logits.rank() != 2 || logits.dim(1) != network.numClasses()) {
            throw new IllegalArgumentException("logits must be [N, " + network.numClasses() + "], found "
                    + logits.shape());
        }
        int n = logits.dim(0), classes = logits.dim(1);
        checkK(k);
        for (int i = 0; i < n; i++) {
            String bad = nonFinite(logits, i);
            if (bad != null) {
                throw new IllegalArgumentException("row " + i + ": " + bad);
            }
        }
        Tensor probs = Tensor.zeros(n, classes);
        CpuOps.softmax(probs, logits);
        List<List<Prediction>> all = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Integer[] order = new Integer[classes];
            for (int c = 0; c < classes; c++) {
                order[c] = c;
            }
            int row = i * classes;
            // Ties keep the lower index first, as torch.topk does on the CPU in practice.
            Arrays.sort(order, (a, b) -> {
                int cmp = Float.compare(logits.data()[row + b], logits.data()[row + a]);
                return cmp != 0 ? cmp : Integer.compare(a, b);
            });
            List<Prediction> top = new ArrayList<>(k);
            for (int j = 0; j < k; j++) {
                int c = order[j];
                top.add(new Prediction(c, labels.get(c), probs.data()[row + c], logits.data()[row + c]));
            }
            all.add(List.copyOf(top));
        }
        return List.copyOf(all);
    }

    /** The architecture: family member, variant and number of classes. */
    public Architecture architecture() {
        requireOpen();
        return network.architecture();
    }

    /** The network (description and weights) this model runs; do not change its tensors. */
    public Network network() {
        requireOpen();
        return network;
    }

    public Device device() {
        requireOpen();
        return device;
    }

    public Preset preset() {
        requireOpen();
        return preset;
    }

    public List<String> labels() {
        requireOpen();
        return labels;
    }

    /** Where the weights came from, e.g. the file path, or "seeded untrained (seed 0)". */
    public String weightsDescription() {
        requireOpen();
        return weightsDescription;
    }

    /**
     * One line for logs: "ResNet-50 on cpu, fp32, 224x224, weights seeded untrained (seed 0)"; after close,
     * "ResNet-50 (closed)". Never throws.
     */
    @Override
    public String toString() {
        String name = network.architecture().displayName();
        if (closed) {
            return name + " (closed)";
        }
        return name + " on " + device + ", " + (cuda == null ? Precision.FP32 : precision).id() + ", " + inputSize
                + "x" + inputSize + ", weights " + weightsDescription;
    }

    /** False for the seeded initialisation, whose predictions are meaningless. */
    public boolean isPretrained() {
        requireOpen();
        return pretrained;
    }

    /** Learnable parameters: 25,557,032 for resnet50 with 1000 classes. */
    public long parameterCount() {
        requireOpen();
        return network.parameterCount();
    }

    /** Floating-point operations for one {@code h x w} image (a multiply-add counts 2). */
    public long flopsPerImage(int h, int w) {
        requireOpen();
        return network.flops(h, w);
    }

    /** The weights as a WeightSet, with jresnet's metadata (for writing a converted file). */
    public WeightSet exportWeights(String source) {
        requireOpen();
        Map<String, String> meta = new HashMap<>();
        meta.putAll(ArchitectureMatch.metadata(network.architecture()));
        meta.put(META_PRESET, preset.id());
        if (inputSize != preset.cropSize()) {
            meta.put(META_IMAGE_SIZE, Integer.toString(inputSize));
        }
        meta.put(META_CLASSES, String.join("\n", labels));
        if (source != null) {
            meta.put(META_SOURCE, source);
        }
        return WeightBinding.export(network, meta);
    }

    /** Frees the GPU engine (contexts, graphs, buffers, weights) and the async workers; idempotent. */
    @Override
    public void close() {
        ExecutorService ex;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            ex = asyncExecutor;
        }
        if (ex != null) {
            ex.shutdown();
        }
        if (cuda != null) {
            cuda.close();
        }
        if (cpu != null) {
            cpu.close();
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("this model is closed (" + network.architecture().id() + ", "
                    + weightsDescription + ")");
        }
    }

    /** Builds a model; unset options come from the weight file's metadata, then from torchvision's defaults. */
    public static final class Builder {
        private Path weights;
        private long seed = 0;
        private Device device = Device.cpu();
        private Architecture architecture;
        private Variant variant;
        private Preset preset;
        private List<String> labels;
        private Precision precision = Precision.FP32;
        private CudaResNet.Options cudaOptions = CudaResNet.Options.defaults();
        private int asyncThreads = 2;
        private Integer imageSize;

        private Builder() {}

        /**
         * The input side (square) to preprocess to and plan the CUDA engine for. Default: the weights'
         * {@link #META_IMAGE_SIZE} metadata, else the preset's crop size (224).
         */
        public Builder imageSize(int size) {
            this.imageSize = checkImageSize(size, "image size");
            return this;
        }

        /** Arithmetic of the CUDA engine (default FP32); the CPU engine always computes in fp32. */
        public Builder precision(Precision p) {
            if (p == null) {
                throw new IllegalArgumentException("precision must not be null");
            }
            this.precision = p;
            return this;
        }

        /** Batch sizes the CUDA engine plans and captures graphs for (default 1, 8, 32, 256). */
        public Builder batchBuckets(int... sizes) {
            List<Integer> list = new ArrayList<>();
            for (int b : sizes) {
                list.add(b);
            }
            this.cudaOptions = cudaOptions.withBuckets(list);
            return this;
        }

        /** CUDA graphs on (default) or off. */
        public Builder cudaGraphs(boolean on) {
            this.cudaOptions = cudaOptions.withCudaGraphs(on);
            return this;
        }

        /** Execution contexts the CUDA engine keeps at most (concurrent calls; default 4). */
        public Builder maxContexts(int n) {
            this.cudaOptions = cudaOptions.withMaxContexts(n);
            return this;
        }

        /** cuDNN algorithm choice: heuristics (default) or timing every algorithm once per shape. */
        public Builder algorithmSearch(ConvAlgorithms.Search search) {
            this.cudaOptions = cudaOptions.withSearch(search);
            return this;
        }

        /** Threads behind {@link ResNet#logitsAsync} (default 2). */
        public Builder asyncThreads(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("asyncThreads must be >= 1, got " + n);
            }
            this.asyncThreads = n;
            return this;
        }

        /**
         * The architecture (default: the weight file's, read from its metadata or recognised from its tensors;
         * resnet50 without a file). A file that does not hold it is refused, naming the differences.
         */
        public Builder architecture(Architecture a) {
            this.architecture = a;
            return this;
        }

        /**
         * A {@code .pth}, {@code .safetensors} or {@code .onnx} file; without one, the seeded untrained weights are
         * used.
         */
        public Builder weights(Path p) {
            this.weights = p;
            return this;
        }

        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        public Builder device(Device d) {
            if (d == null) {
                throw new IllegalArgumentException("device must not be null");
            }
            this.device = d;
            return this;
        }

        public Builder variant(Variant v) {
            this.variant = v;
            return this;
        }

        public Builder preset(Preset p) {
            this.preset = p;
            return this;
        }

        public Builder labels(List<String> l) {
            this.labels = List.copyOf(l);
            return this;
        }

        public ResNet build() throws IOException {
            if (device.kind() == Device.Kind.CUDA) {
                CudaAvailability.Status s = CudaAvailability.backendStatus();
                if (!s.usable()) {
                    throw new DeviceUnavailableException("cannot run on " + device + ": CUDA is unusable ("
                            + s.reason() + "); " + CudaAvailability.installHint(s.reason())
                            + " (NVIDIA driver, CUDA 13 and cuDNN 9 runtime libraries), or use Device.cpu()");
                }
            }
            if (weights != null) {
                // before the name is looked at: "/" has none, and a pipe or device would never end
                FileChecks.requireRegularFile(weights, "weights file");
            }
            WeightSet set = weights == null ? null
                    : weights.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx")
                    ? OnnxImporter.read(weights) : WeightSets.read(weights);
            Map<String, String> meta = set == null ? Map.of() : set.metadata();
            Architecture arch = ArchitectureMatch.of(set, architecture);
            if (variant != null) {
                arch = arch.withVariant(variant);
            }
            Preset p = preset != null ? preset
                    : meta.containsKey(META_PRESET) ? presetOf(meta.get(META_PRESET), weights) : Preset.TORCHVISION_V1;
            int size;
            if (imageSize != null) {
                size = imageSize;
            } else if (meta.containsKey(META_IMAGE_SIZE)) {
                String what = weights + ": metadata " + META_IMAGE_SIZE;
                try {
                    size = checkImageSize(Integer.parseInt(meta.get(META_IMAGE_SIZE).strip()), what);
                } catch (NumberFormatException e) {
                    throw new IncompatibleWeightsException(what + " = \"" + meta.get(META_IMAGE_SIZE)
                            + "\" is not a number");
                }
            } else {
                size = p.cropSize();
            }
            int classes = arch.numClasses();
            List<String> names = labels != null ? labels
                    : meta.containsKey(META_CLASSES) ? List.of(meta.get(META_CLASSES).split("\n", -1))
                    : Labels.defaultFor(classes);
            if (names.size() != classes) {
                throw new IncompatibleWeightsException((weights == null ? "labels" : weights.toString()) + ": "
                        + names.size() + " class names for a classifier with " + classes + " outputs");
            }
            Network network = new Network(arch);
            String description;
            if (set == null) {
                WeightBinding.initialise(network, seed);
                description = "seeded untrained (seed " + seed + ")";
            } else {
                WeightBinding.load(network, set);
                description = weights.toString();
            }
            CudaResNet engine = null;
            if (device.kind() == Device.Kind.CUDA) {
                engine = startCuda(network, size);
            }
            return new ResNet(network, device, p, size, names, description, set != null, precision, engine,
                    asyncThreads);
        }

        /** The preset a weights file's metadata names, or an error naming the file and the key. */
        private static Preset presetOf(String name, Path weights) throws IncompatibleWeightsException {
            try {
                return Preset.fromName(name);
            } catch (IllegalArgumentException e) {
                throw new IncompatibleWeightsException(weights + ": metadata " + META_PRESET + " = \"" + name
                        + "\": " + e.getMessage());
            }
        }

        private static int checkImageSize(int size, String what) {
            if (size < 32 || size > 4096) {
                throw new IllegalArgumentException(what + " must be in 32..4096 pixels, got " + size);
            }
            return size;
        }

        private CudaResNet startCuda(Network network, int size) {
            CudaResNet.Options o = cudaOptions.withDevice(device.index()).withPrecision(precision);
            try {
                return CudaResNet.create(NetworkPlan.of(network, size, size), o);
            } catch (CudaException | IllegalArgumentException | LinkageError e) {
                throw new DeviceUnavailableException("cannot run on " + device + ": " + e.getMessage()
                        + "; dev.jresnet.cuda.Doctor.report (`jresnet doctor`) tells what is missing, or use "
                        + "Device.cpu()");
            }
        }
    }
}
