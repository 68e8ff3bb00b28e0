package dev.jresnet.finetune;

import dev.jresnet.train.AdamW;
import dev.jresnet.train.ImageFolder;
import dev.jresnet.train.RandomResizedCrop;
import dev.jresnet.train.Transforms;

import dev.jresnet.graph.Architecture;
import dev.jresnet.image.Preset;
import dev.jresnet.resnet.Device;
import dev.jresnet.train.Unfreeze;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Everything a {@link FineTuner} run needs, checked when built. Make one with {@link #builder(Path, Path)}; every
 * setting has the default documented on its builder method.
 *
 * @param data          the ImageFolder root ({@code CLASS/img}, or {@code train/} and {@code val/} folders)
 * @param weights       the starting weights (.pth, .safetensors, .onnx); null: the seeded untrained backbone
 * @param architecture  the network; null: the weights' (metadata or tensors), else resnet50
 * @param unfreeze      the first trainable stage; everything before it stays frozen, bit for bit
 * @param trainBn       BatchNorm of the trainable stages in training mode (batch statistics)
 * @param lr            the peak learning rate
 * @param momentum      SGD momentum (unused by AdamW, whose betas are torch's defaults 0.9, 0.999)
 * @param clipGradNorm  the global L2 gradient norm limit; 0: no clipping
 * @param lrStepEpochs  the step schedule's period in epochs; 0: a third of the epochs
 * @param valFraction   the share of each class held out for validation, unless data has train/ and val/
 * @param imageSize     the network input side; the preset's resize/crop ratio is kept
 * @param preset        normalisation and resize ratio; null: the weights' metadata, else torchvision-v1
 * @param augment       RandomResizedCrop and flip for training; off: the evaluation transform
 * @param featureCache  with augmentation off, run the frozen prefix once per image and train from cached features
 * @param output        where the self-contained model safetensors goes
 * @param checkpoint    the per-epoch checkpoint; null: {@link #defaultCheckpoint}
 * @param checkpointEvery write the checkpoint every this many epochs (and after the last)
 * @param resume        a checkpoint to continue from, or null
 */
public record FineTuneOptions(Path data, Path weights, Architecture architecture, Unfreeze unfreeze, boolean trainBn, int epochs,
                              int batchSize, float lr, OptimizerKind optimizer, float momentum, float weightDecay,
                              ScheduleKind schedule, int warmupEpochs, int lrStepEpochs, float labelSmoothing,
                              float clipGradNorm, double valFraction, long seed, int imageSize, Preset preset,
                              int workers, boolean augment, boolean featureCache, long featureCacheBytes, Path output,
                              Path checkpoint, int checkpointEvery, Path resume, Device device) {
    public enum OptimizerKind {
        SGD, ADAMW;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static OptimizerKind parse(String s) {
            for (OptimizerKind k : values()) {
                if (k.id().equalsIgnoreCase(s == null ? "" : s.strip())) {
                    return k;
                }
            }
            throw new IllegalArgumentException("optimizer must be sgd or adamw, found \"" + s + "\"");
        }

        /** torch's default weight decay for AdamW (0.01); torchvision's recipe value for SGD (1e-4). */
        public float defaultWeightDecay() {
            return this == SGD ? 1e-4f : 0.01f;
        }

        /** 0.01 for SGD, 0.001 for AdamW (torch's default), both for fine-tuning from pretrained features. */
        public float defaultLr() {
            return this == SGD ? 0.01f : 0.001f;
        }
    }

    public enum ScheduleKind {
        CONSTANT, STEP, COSINE;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static ScheduleKind parse(String s) {
            for (ScheduleKind k : values()) {
                if (k.id().equalsIgnoreCase(s == null ? "" : s.strip())) {
                    return k;
                }
            }
            throw new IllegalArgumentException("schedule must be constant, step or cosine, found \"" + s + "\"");
        }
    }

    /** Largest feature cache by default: 2 GiB, and never more than half the heap. */
    public static final long DEFAULT_FEATURE_CACHE_BYTES = 2L << 30;

    public FineTuneOptions {
        require(data != null, "a data folder is required");
        require(output != null, "an output file is required");
        require(unfreeze != null && optimizer != null && schedule != null && device != null,
                "unfreeze, optimizer, schedule and device must not be null");
        require(epochs >= 1, "epochs must be >= 1, got " + epochs);
        require(batchSize >= 1, "batch size must be >= 1, got " + batchSize);
        require(lr > 0 && Float.isFinite(lr), "learning rate must be finite and > 0, got " + lr);
        require(momentum >= 0 && momentum < 1, "momentum must be in [0, 1), got " + momentum);
        require(weightDecay >= 0 && Float.isFinite(weightDecay), "weight decay must be finite and >= 0, got " + weightDecay);
        require(warmupEpochs >= 0 && warmupEpochs < epochs, "warm-up epochs must be in [0, epochs) = [0, " + epochs
                + "), got " + warmupEpochs);
        require(lrStepEpochs >= 0, "lr step epochs must be >= 0 (0: a third of the epochs), got " + lrStepEpochs);
        require(labelSmoothing >= 0 && labelSmoothing < 1, "label smoothing must be in [0, 1), got " + labelSmoothing);
        require(clipGradNorm >= 0 && Float.isFinite(clipGradNorm), "gradient clipping norm must be finite and >= 0 "
                + "(0: off), got " + clipGradNorm);
        require(valFraction >= 0 && valFraction < 1, "validation fraction must be in [0, 1), got " + valFraction);
        require(imageSize >= Transforms.MIN_SIZE && imageSize <= Transforms.MAX_SIZE, "image size must be in "
                + Transforms.MIN_SIZE + ".." + Transforms.MAX_SIZE + " pixels, got " + imageSize);
        require(workers >= 1, "workers must be >= 1, got " + workers);
        require(checkpointEvery >= 1, "checkpoint interval must be >= 1 epoch, got " + checkpointEvery);
        require(featureCacheBytes >= 0, "feature cache size must be >= 0, got " + featureCacheBytes);
        Path abs = output.toAbsolutePath().normalize();
        Path ckpt = (checkpoint != null ? checkpoint : defaultCheckpoint(output)).toAbsolutePath().normalize();
        require(!abs.equals(ckpt), "the checkpoint must not be the output file (" + output + ")");
        require(weights == null || !weights.toAbsolutePath().normalize().equals(abs),
                "the output file must not be the starting weights (" + weights + ")");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** {@code MODEL.ckpt.safetensors} next to {@code MODEL.safetensors} (or {@code OUT.ckpt.safetensors}). */
    public static Path defaultCheckpoint(Path output) {
        return sibling(output, ".ckpt.safetensors");
    }

    /** The output's name without {@code .safetensors}, plus {@code suffix}, in the output's folder. */
    public static Path sibling(Path output, String suffix) {
        String name = output.getFileName().toString();
        String stem = name.toLowerCase(Locale.ROOT).endsWith(".safetensors")
                ? name.substring(0, name.length() - ".safetensors".length()) : name;
        return output.resolveSibling(stem + suffix);
    }

    /** The checkpoint path in effect. */
    public Path checkpointPath() {
        return checkpoint != null ? checkpoint : defaultCheckpoint(output);
    }

    /** The schedule's step period in epochs in effect. */
    public int effectiveLrStepEpochs() {
        return lrStepEpochs > 0 ? lrStepEpochs : Math.max(1, (epochs + 2) / 3);
    }

    public static Builder builder(Path data, Path output) {
        return new Builder(data, output);
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        Builder b = new Builder(data, output);
        b.weights = weights;
        b.architecture = architecture;
        b.unfreeze = unfreeze;
        b.trainBn = trainBn;
        b.epochs = epochs;
        b.batchSize = batchSize;
        b.lr = lr;
        b.optimizer = optimizer;
        b.momentum = momentum;
        b.weightDecay = weightDecay;
        b.schedule = schedule;
        b.warmupEpochs = warmupEpochs;
        b.lrStepEpochs = lrStepEpochs;
        b.labelSmoothing = labelSmoothing;
        b.clipGradNorm = clipGradNorm;
        b.valFraction = valFraction;
        b.seed = seed;
        b.imageSize = imageSize;
        b.preset = preset;
        b.workers = workers;
        b.augment = augment;
        b.featureCache = featureCache;
        b.featureCacheBytes = featureCacheBytes;
        b.checkpoint = checkpoint;
        b.checkpointEvery = checkpointEvery;
        b.resume = resume;
        b.device = device;
        return b;
    }

    public static final class Builder {
        private final Path data;
        private final Path output;
        private Path weights;
        private Architecture architecture;
        private Unfreeze unfreeze = Unfreeze.FC;
        private boolean trainBn;
        private int epochs = 10;
        private int batchSize = 32;
        private Float lr; // null: the optimizer's default (NaN is refused, never read as "unset")
        private OptimizerKind optimizer = OptimizerKind.SGD;
        private float momentum = 0.9f;
        private Float weightDecay; // null: the optimizer's default
        private ScheduleKind schedule = ScheduleKind.COSINE;
        private int warmupEpochs;
        private int lrStepEpochs;
        private float labelSmoothing;
        private float clipGradNorm;
        private double valFraction = 0.2;
        private long seed;
        private int imageSize = 224;
        private Preset preset;
        private int workers = Math.min(4, Runtime.getRuntime().availableProcessors());
        private boolean augment = true;
        private boolean featureCache = true;
        private long featureCacheBytes = DEFAULT_FEATURE_CACHE_BYTES;
        private Path checkpoint;
        private int checkpointEvery = 1;
        private Path resume;
        private Device device = Device.cpu();

        private Builder(Path data, Path output) {
            this.data = data;
            this.output = output;
        }

        /** Starting weights; default none (the seeded untrained backbone). */
        public Builder weights(Path p) { weights = p; return this; }
        /** Default null: the weights' architecture, else resnet50 (for the untrained backbone). */
        public Builder architecture(Architecture a) { architecture = a; return this; }
        /** Default FC. */
        public Builder unfreeze(Unfreeze u) { unfreeze = u; return this; }
        /** Default false (trainable BatchNorm keeps its running statistics). */
        public Builder trainBn(boolean b) { trainBn = b; return this; }
        /** Default 10. */
        public Builder epochs(int e) { epochs = e; return this; }
        /** Default 32. */
        public Builder batchSize(int b) { batchSize = b; return this; }
        /** Default {@link OptimizerKind#defaultLr()}. */
        public Builder lr(float v) { lr = v; return this; }
        /** Default SGD. */
        public Builder optimizer(OptimizerKind k) { optimizer = k; return this; }
        /** Default 0.9. */
        public Builder momentum(float m) { momentum = m; return this; }
        /** Default {@link OptimizerKind#defaultWeightDecay()}. */
        public Builder weightDecay(float wd) { weightDecay = wd; return this; }
        /** Default cosine. */
        public Builder schedule(ScheduleKind s) { schedule = s; return this; }
        /** Default 0. */
        public Builder warmupEpochs(int n) { warmupEpochs = n; return this; }
        /** Default 0: a third of the epochs. */
        public Builder lrStepEpochs(int n) { lrStepEpochs = n; return this; }
        /** Default 0. */
        public Builder labelSmoothing(float s) { labelSmoothing = s; return this; }
        /** Default 0: no clipping. */
        public Builder clipGradNorm(float n) { clipGradNorm = n; return this; }
        /** Default 0.2. */
        public Builder valFraction(double f) { valFraction = f; return this; }
        /** Default 0. */
        public Builder seed(long s) { seed = s; return this; }
        /** Default 224. */
        public Builder imageSize(int px) { imageSize = px; return this; }
        /** Default null: from the weights' metadata, else torchvision-v1. */
        public Builder preset(Preset p) { preset = p; return this; }
        /** Default min(4, processors). */
        public Builder workers(int n) { workers = n; return this; }
        /** Default true. */
        public Builder augment(boolean a) { augment = a; return this; }
        /** Default true (used only without augmentation). */
        public Builder featureCache(boolean c) { featureCache = c; return this; }
        /** Default {@link #DEFAULT_FEATURE_CACHE_BYTES}. */
        public Builder featureCacheBytes(long b) { featureCacheBytes = b; return this; }
        /** Default {@link #defaultCheckpoint}. */
        public Builder checkpoint(Path p) { checkpoint = p; return this; }
        /** Default 1: after every epoch. */
        public Builder checkpointEvery(int epochs) { checkpointEvery = epochs; return this; }
        /** Default none. */
        public Builder resume(Path p) { resume = p; return this; }
        /** Default CPU. */
        public Builder device(Device d) { device = d; return this; }

        public FineTuneOptions build() {
            OptimizerKind k = optimizer == null ? OptimizerKind.SGD : optimizer;
            return new FineTuneOptions(data, weights, architecture, unfreeze, trainBn, epochs, batchSize,
                    lr == null ? k.defaultLr() : lr, optimizer, momentum,
                    weightDecay == null ? k.defaultWeightDecay() : weightDecay, schedule, warmupEpochs,
                    lrStepEpochs, labelSmoothing, clipGradNorm, valFraction, seed, imageSize, preset, workers, augment,
                    featureCache, featureCacheBytes, output, checkpoint, checkpointEvery, resume, device);
        }
    }
}
