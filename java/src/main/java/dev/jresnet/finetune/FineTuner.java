package dev.jresnet.finetune;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.ArchitectureMatch;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.Variant;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.image.Preset;
import dev.jresnet.io.FileChecks;
import dev.jresnet.onnx.OnnxImporter;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.AdamW;
import dev.jresnet.train.Batch;
import dev.jresnet.train.Checkpoint;
import dev.jresnet.train.DataLoader;
import dev.jresnet.train.EpochMetrics;
import dev.jresnet.train.ImageFolder;
import dev.jresnet.train.InvalidDatasetException;
import dev.jresnet.train.LrSchedule;
import dev.jresnet.train.Metrics;
import dev.jresnet.train.Optimizer;
import dev.jresnet.train.Param;
import dev.jresnet.train.Sample;
import dev.jresnet.train.Sgd;
import dev.jresnet.train.Skipped;
import dev.jresnet.train.Trainer;
import dev.jresnet.train.TrainingBackend;
import dev.jresnet.train.TrainingState;
import dev.jresnet.train.Transform;
import dev.jresnet.train.Transforms;
import dev.jresnet.train.Unfreeze;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightFormatException;
import dev.jresnet.weights.WeightSet;
import dev.jresnet.weights.WeightSets;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Transfer learning of a ResNet (resnet50 by default) on an {@link ImageFolder}: a new head for the dataset's classes on a pretrained
 * backbone, the stages from {@link FineTuneOptions#unfreeze()} on trained, the rest frozen bit for bit.
 *
 * <pre>{@code
 * FineTuneOptions o = FineTuneOptions.builder(Path.of("flowers"), Path.of("flowers.safetensors"))
 *         .weights(Path.of("resnet50.safetensors")).unfreeze(Unfreeze.LAYER4).epochs(5).build();
 * FineTuneResult r = FineTuner.run(o, listener);
 * }</pre>
 *
 * <p><b>An epoch</b>: the training images in a shuffled order (seeded by seed + epoch), each batch a
 * {@link TrainingBackend#trainStep} at the schedule's learning rate, then the validation images in inference mode.
 * Its {@link EpochMetrics} holds the mean training loss (the training objective, label smoothing included) and
 * top-1 of the training forward, the validation loss (same criterion) and top-1/top-5, the training images per
 * second (training phase only) and the epoch's seconds (validation included).
 *
 * <p><b>Feature cache</b>: without augmentation every epoch feeds the frozen prefix the same images, so its output
 * is computed once per image ({@link TrainingBackend#frozenFeatures}, inference mode) and kept in memory; every epoch
 * then runs only the trainable layers. With {@code --unfreeze fc} an epoch is then a few matrix products. Used for
 * any frozen prefix whose features fit {@link FineTuneOptions#featureCacheBytes()} (and half the heap). A cached run
 * computes the frozen features in other batches than an uncached one, so the two agree to float rounding, not
 * bitwise.
 *
 * <p><b>Outputs</b>: a checkpoint after every epoch (model, optimizer state, epoch, step, history; atomic), and at
 * the end the model: one safetensors with every tensor (the untouched backbone and the trained layers) and metadata
 * ({@link ResNet#META_CLASSES}, preset, variant, source, {@link #META_IMAGE_SIZE}, {@link #META_TRAINING}) that
 * {@link ResNet#load} reads with its class names.
 *
 * <p><b>Resume</b>: {@link FineTuneOptions#resume()} restores the model, the optimizer state, the step count and
 * the history; since the data order and augmentation depend only on (seed, epoch, sample), the continued run is
 * bitwise the uninterrupted one. Settings that change the result must match the checkpoint's.
 */
public final class FineTuner {
    /** Metadata: the input side the model was trained at (evaluate uses it). */
    public static final String META_IMAGE_SIZE = ResNet.META_IMAGE_SIZE;
    /** Metadata: a JSON summary of the training run (settings and final metrics). */
    public static final String META_TRAINING = "jresnet.training";
    static final String META_SETTINGS = "jresnet.finetune.settings";
    static final String META_HISTORY = "jresnet.finetune.history";
    static final String META_PLANNED_EPOCHS = "jresnet.finetune.epochs";
    static final String META_WEIGHTS = "jresnet.finetune.weights";
    static final String META_PRETRAINED = "jresnet.finetune.pretrained";
    /** Metadata: the epoch whose weights the model holds (checkpoints too). */
    public static final String META_KEPT_EPOCH = "jresnet.finetune.kept_epoch";
    /** The seed of the untrained backbone used without weights (as {@code classify --untrained}). */
    public static final long UNTRAINED_SEED = 0;

    private final FineTuneOptions o;
    private final TrainingListener listener;
    private final List<Skipped> skipped = new ArrayList<>();

    private FineTuner(FineTuneOptions options, TrainingListener listener) {
        this.o = options;
        this.listener = listener != null ? listener : new TrainingListener() {};
    }

    /** Runs the whole fine-tuning described by {@code options}; {@code listener} may be null. */
    public static FineTuneResult run(FineTuneOptions options, TrainingListener listener) throws IOException {
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        return new FineTuner(options, listener).run();
    }

    // ------------------------------------------------------------------------------------------ setup

    /** The network to train (its head already for the dataset's classes) and where its weights came from. */
    private record Start(Network net, Preset preset, String weights, boolean pretrained, boolean newHead,
                         Checkpoint checkpoint) {}

    /**
     * Refuses, before any work, an output that would replace or join an input: the model, the checkpoint and
     * {@code moreOutputs} (the CLI's curves) must not be the starting weights or lie in the data folder, the model
     * and {@code moreOutputs} not the checkpoint resumed from either (the checkpoint may be: a resumed run continues
     * it), and the checkpoint must not be the model.
     */
    public static void requireOutputsAreNotInputs(FineTuneOptions o, Path... moreOutputs) throws IOException {
        FileChecks.requireNotAnInput(o.output(), "output", o.data(), o.weights(), o.resume());
        FileChecks.requireNotAnInput(o.checkpointPath(), "checkpoint", o.data(), o.weights());
        if (FileChecks.sameFile(o.checkpointPath(), o.output())) {
            throw new IOException("checkpoint " + o.checkpointPath() + " is the output " + o.output()
                    + ": the model would replace the checkpoint; choose another checkpoint");
        }
        for (Path p : moreOutputs) {
            FileChecks.requireNotAnInput(p, "output", o.data(), o.weights(), o.resume());
        }
    }

    private FineTuneResult run() throws IOException {
        requireOutputsAreNotInputs(o);
        Backends.checkDevice(o.device());
        ImageFolder.Split split = ImageFolder.split(o.data(), o.valFraction(), o.seed());
        List<String> classes = split.classes();
        for (String c : classes) {
            if (c.indexOf('\n') >= 0) {
                throw new InvalidDatasetException("class folder name " + c.replace("\n", "\\n")
                        + " holds a line break, which the model's class list cannot store");
            }
        }
        if (split.train().isEmpty()) {
            throw new InvalidDatasetException(o.data() + ": no training images");
        }
        Start start = start(classes);
        for (Path file : List.of(o.output(), o.checkpointPath())) {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
        }
        Optimizer optimizer = o.optimizer() == FineTuneOptions.OptimizerKind.SGD
                ? new Sgd(o.momentum(), o.weightDecay(), false)
                : new AdamW(0.9f, 0.999f, 1e-8f, o.weightDecay());
        try (Trainer<?> backend = Backends.create(o.device(), start.net(), o.unfreeze(), o.trainBn(), optimizer,
                o.labelSmoothing(), o.clipGradNorm())) {
            return train(backend, start, split);
        }
    }

    private Start start(List<String> classes) throws IOException {
        if (o.resume() != null) {
            Checkpoint ckpt = Checkpoint.read(o.resume());
            Map<String, String> meta = ckpt.metadata();
            String settings = meta.get(META_SETTINGS);
            if (settings == null) {
                throw new WeightFormatException(o.resume() + ": a checkpoint, but not one of jresnet finetune (no "
                        + META_SETTINGS + ")");
            }
            Architecture arch = Architecture.of(meta.getOrDefault(ResNet.META_ARCHITECTURE, "resnet50"))
                    .withVariant(Variant.fromId(meta.getOrDefault(ResNet.META_VARIANT, Variant.V1_5.id())))
                    .withClasses(classes.size());
            // An explicit preset that differs from the checkpoint's is reported with the other settings.
            Preset preset = o.preset() != null ? o.preset()
                    : Preset.fromName(meta.getOrDefault(ResNet.META_PRESET, Preset.TORCHVISION_V1.id()));
            String weights = meta.getOrDefault(META_WEIGHTS, "(unknown)");
            boolean pretrained = Boolean.parseBoolean(meta.getOrDefault(META_PRETRAINED, "true"));
            // The weights themselves come from the checkpoint (loaded once the backend exists).
            return new Start(new Network(arch), preset, weights, pretrained, true, ckpt);
        }
        Network source;
        Map<String, String> meta = Map.of();
        String description;
        boolean pretrained = o.weights() != null;
        if (o.weights() != null) {
            if (!Files.isRegularFile(o.weights())) {
                throw new FileNotFoundException("weights file " + o.weights() + " does not exist");
            }
            WeightSet set = o.weights().getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx")
                    ? OnnxImporter.read(o.weights()) : WeightSets.read(o.weights());
            meta = set.metadata();
            source = new Network(ArchitectureMatch.of(set, o.architecture()));
            WeightBinding.load(source, set);
            description = o.weights().toString();
        } else {
            source = Network.initialised(ArchitectureMatch.of(null, o.architecture()), UNTRAINED_SEED);
            description = "seeded untrained " + source.architecture().id() + " (seed " + UNTRAINED_SEED + ")";
        }
        Preset preset = o.preset() != null ? o.preset()
                : meta.containsKey(ResNet.META_PRESET) ? Preset.fromName(meta.get(ResNet.META_PRESET))
                : Preset.TORCHVISION_V1;
        // A model fine-tuned on these very classes keeps its head: training continues rather than restarts.
        String sourceClasses = meta.get(ResNet.META_CLASSES);
        boolean keepHead = sourceClasses != null && sourceClasses.equals(String.join("\n", classes))
                && source.numClasses() == classes.size();
        Network net = keepHead ? source : source.withNewHead(classes.size(), o.seed());
        return new Start(net, preset, description, pretrained, !keepHead, null);
    }

    // ------------------------------------------------------------------------------------------ training

    private FineTuneResult train(Trainer<?> backend, Start start, ImageFolder.Split split)
            throws IOException {
        List<String> classes = split.classes();
        int k = classes.size();
        Preset preset = start.preset();
        int size = o.imageSize();
        Transform evalTransform = Transforms.eval(preset, size);
        Transform trainTransform = o.augment() ? Transforms.train(preset, size) : evalTransform;
        Map<String, String> settings = settings(split, preset, backend.optimizer(), backend);

        int startEpoch = 0;
        long step = 0;
        float bestTop1 = Float.NaN;
        BestEpoch best = new BestEpoch(backend.network().spec(), o.unfreeze());
        List<EpochMetrics> history = new ArrayList<>();
        if (start.checkpoint() != null) {
            Checkpoint ckpt = start.checkpoint();
            checkResumable(ckpt, settings, classes);
            Map<String, Tensor> model = new LinkedHashMap<>();
            Map<String, Tensor> kept = new LinkedHashMap<>();
            ckpt.weights().forEach((name, t) -> (name.startsWith(BestEpoch.PREFIX) ? kept : model).put(name, t));
            backend.loadWeights(model);
            backend.optimizer().loadState(ckpt.optimizerState());
            startEpoch = ckpt.state().epoch();
            step = ckpt.state().step();
            bestTop1 = ckpt.state().bestValTop1();
            history.addAll(parseHistory(ckpt.metadata().get(META_HISTORY)));
            if (history.size() != startEpoch) {
                throw new WeightFormatException(o.resume() + ": the checkpoint is at epoch " + startEpoch + " but holds "
                        + history.size() + " epochs of history");
            }
            best.restore(keptEpoch(ckpt.metadata().get(META_KEPT_EPOCH), history), kept);
            listener.message("resumed from " + o.resume() + " after epoch " + startEpoch + " (step " + step + ")");
            String planned = ckpt.metadata().get(META_PLANNED_EPOCHS);
            if (planned != null && !planned.equals(Integer.toString(o.epochs()))
                    && o.schedule() == FineTuneOptions.ScheduleKind.COSINE) {
                listener.message("note: the checkpoint's run planned " + planned + " epochs, this one " + o.epochs()
                        + ": the cosine schedule is recomputed for " + o.epochs() + " epochs from here on");
            }
            if (startEpoch >= o.epochs()) {
                listener.message("the checkpoint already has " + startEpoch + " epochs (of " + o.epochs()
                        + "): nothing left to train; writing the model");
            }
        }

        try (DataLoader trainLoader = DataLoader.builder(split.train(), trainTransform).batchSize(o.batchSize())
                .shuffle(true).seed(o.seed()).workers(o.workers()).build();
             DataLoader valLoader = DataLoader.builder(split.val(), evalTransform).batchSize(o.batchSize())
                     .workers(o.workers()).build()) {
            int stepsPerEpoch = trainLoader.batchesPerEpoch();
            long lastStep = step + (long) Math.max(0, o.epochs() - startEpoch) * stepsPerEpoch;
            if (lastStep > Integer.MAX_VALUE) {
                // the schedules count steps in an int: refuse now rather than overflow mid-run
                throw new WeightFormatException(o.resume() + ": the checkpoint's step " + step + " plus the "
                        + (lastStep - step) + " steps left would pass " + Integer.MAX_VALUE);
            }
            LrSchedule schedule = LrSchedule.parse(o.schedule().id(), o.lr(), o.epochs(), stepsPerEpoch,
                    new LrSchedule.Options(o.warmupEpochs(), LrSchedule.Options.DEFAULTS.warmupStartFactor(),
                            o.effectiveLrStepEpochs(), LrSchedule.Options.DEFAULTS.gamma(), 0f));
            boolean useCache = decideCache(backend, split) && startEpoch < o.epochs();
            int trainable = 0;
            for (Param<?> p : backend.parameters()) {
                trainable += p.shape().size();
            }
            listener.started(new TrainingListener.Plan(classes, split.train().size(), split.val().size(), o.epochs(),
                    startEpoch, stepsPerEpoch, backend.description(), start.weights(), start.pretrained(),
                    start.newHead(), backend.optimizer().describe(), useCache, trainable));

            FeatureCache trainCache = null;
            FeatureCache valCache = null;
            double buildSeconds = 0;
            if (useCache) {
                long t0 = System.nanoTime();
                trainCache = buildCache(backend, split.train(), evalTransform, o.unfreeze());
                if (!split.val().isEmpty()) {
                    valCache = buildCache(backend, split.val(), evalTransform, o.unfreeze());
                }
                buildSeconds = (System.nanoTime() - t0) / 1e9;
                long bytes = trainCache.bytes() + (valCache != null ? valCache.bytes() : 0);
                listener.message(String.format(Locale.ROOT, "feature cache: %d images, %.1f MiB, built in %.1f s",
                        trainCache.cached() + (valCache != null ? valCache.cached() : 0), bytes / 1048576.0,
                        buildSeconds));
            }

            double cachedSeconds = 0;
            DivergenceGuard guard = new DivergenceGuard(k);
            for (int epoch = startEpoch; epoch < o.epochs(); epoch++) {
                best.beforeEpoch(backend::weights);
                long t0 = System.nanoTime();
                Metrics trainMetrics = new Metrics(k);
                double lossSum = 0;
                double lrSum = 0; // over this epoch's steps, from step firstStep on
                long firstStep = step;
                int seen = 0;
                int total = split.train().size();
                Iterator<FeatureCache.Rows> batches = trainCache != null
                        ? cachedBatches(trainCache, trainLoader.order(epoch), trainLoader.batchesPerEpoch())
                        : loaderBatches(trainLoader.epoch(epoch));
                while (batches.hasNext()) {
                    FeatureCache.Rows b = batches.next();
                    float lr = schedule.lr(Math.toIntExact(step));
                    TrainingBackend.StepResult r = backend.trainStep(b.input(), trainCache != null, b.labels(), lr);
                    String diverged = guard.check(r.loss());
                    if (diverged != null) {
                        throw diverged(diverged, r.loss(), lr, epoch + 1, step + 1, history.size());
                    }
                    step++;
                    lrSum += lr;
                    trainMetrics.add(r.logits(), b.labels());
                    lossSum += (double) r.loss() * b.labels().length;
                    seen += b.labels().length;
                    double elapsed = (System.nanoTime() - t0) / 1e9;
                    double ips = seen / elapsed;
                    listener.progress(new TrainingListener.Progress(TrainingListener.Phase.TRAIN, epoch + 1, o.epochs(),
                            seen, total, lossSum / seen, ips, Math.max(0, total - seen) / ips));
                }
                if (seen == 0) {
                    throw new InvalidDatasetException(o.data() + ": none of the " + total
                            + " training images could be decoded");
                }
                double trainSeconds = (System.nanoTime() - t0) / 1e9;

                double valLoss = Double.NaN;
                Metrics valMetrics = new Metrics(k);
                if (!split.val().isEmpty()) {
                    valLoss = validate(backend, valCache, valLoader, valMetrics, epoch, schedule.lr(Math.toIntExact(Math.max(0, step - 1))), step, history.size());
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                EpochMetrics m = new EpochMetrics(epoch + 1, lossSum / seen, valLoss, trainMetrics.top1(),
                        valMetrics.top1(), valMetrics.top5(), seen / trainSeconds, seconds,
                        lrSum / (step - firstStep));
                history.add(m);
                best.epochEnded(m);
                if (!Double.isNaN(m.valTop1()) && (Float.isNaN(bestTop1) || m.valTop1() > bestTop1)) {
                    bestTop1 = (float) m.valTop1();
                }
                if (trainCache != null) {
                    cachedSeconds += seconds;
                }
                listener.epochEnded(m);
                if ((epoch + 1) % o.checkpointEvery() != 0 && epoch + 1 != o.epochs()) {
                    continue;
                }
                Map<String, String> meta = new LinkedHashMap<>(modelMetadata(classes, preset, backend, start, split,
                        history, best.metrics()));
                meta.put(META_SETTINGS, encode(settings));
                meta.put(META_HISTORY, encodeHistory(history));
                meta.put(META_PLANNED_EPOCHS, Integer.toString(o.epochs()));
                meta.put(META_WEIGHTS, start.weights());
                meta.put(META_PRETRAINED, Boolean.toString(start.pretrained()));
                Map<String, Tensor> tensors = new LinkedHashMap<>(backend.weights());
                tensors.putAll(best.checkpointTensors());
                Checkpoint.write(o.checkpointPath(), tensors, backend.optimizer(),
                        new TrainingState(epoch + 1, step, o.seed(), bestTop1), meta);
                listener.checkpointWritten(o.checkpointPath(), epoch + 1);
            }
            addSkipped(trainLoader.skipped());
            addSkipped(valLoader.skipped());

            // null only for a finished checkpoint of an older version, which kept its last epoch
            EpochMetrics kept = best.metrics() != null ? best.metrics()
                    : history.isEmpty() ? null : history.get(history.size() - 1);
            writeModel(best.model(backend.weights()), modelMetadata(classes, preset, backend, start, split, history,
                    kept));
            FineTuneResult.CacheStats stats = null;
            int cachedEpochs = o.epochs() - startEpoch;
            if (trainCache != null && cachedEpochs > 0) {
                stats = new FineTuneResult.CacheStats(trainCache.cached() + (valCache != null ? valCache.cached() : 0),
                        trainCache.bytes() + (valCache != null ? valCache.bytes() : 0), buildSeconds,
                        cachedSeconds / cachedEpochs, cachedEpochs);
            }
            return new FineTuneResult(classes, history, kept == null ? 0 : kept.epoch(), o.output(),
                    o.checkpointPath(), skipped, stats, start.weights(), start.pretrained());
        }
    }

    /** Mean validation loss (the training criterion); fills {@code metrics}. */
    private double validate(TrainingBackend backend, FeatureCache valCache, DataLoader valLoader, Metrics metrics,
                            int epoch, float lr, long step, int epochsDone) {
        long t0 = System.nanoTime();
        int total = valCache != null ? valCache.cached() : valLoader.order(0).length;
        Iterator<FeatureCache.Rows> batches = valCache != null
                ? cachedBatches(valCache, valLoader.order(0), valLoader.batchesPerEpoch())
                : loaderBatches(valLoader.epoch(0));
        double lossSum = 0;
        int seen = 0;
        while (batches.hasNext()) {
            FeatureCache.Rows b = batches.next();
            Tensor logits = backend.evalLogits(b.input(), valCache != null);
            float loss = CpuGrads.softmaxCrossEntropy(null, logits, b.labels(), o.labelSmoothing());
            if (!Float.isFinite(loss)) {
                throw diverged("the validation loss is " + loss, loss, lr, epoch + 1, step, epochsDone);
            }
            metrics.add(logits, b.labels());
            lossSum += (double) loss * b.labels().length;
            seen += b.labels().length;
            double ips = seen / ((System.nanoTime() - t0) / 1e9);
            int all = Math.max(total, seen);
            listener.progress(new TrainingListener.Progress(TrainingListener.Phase.VALIDATE, epoch + 1, o.epochs(),
                    seen, all, lossSum / seen, ips, Math.max(0, all - seen) / ips));
        }
        return seen == 0 ? Double.NaN : lossSum / seen;
    }

    // ------------------------------------------------------------------------------------------ feature cache

    private boolean decideCache(Trainer<?> net, ImageFolder.Split split) {
        if (net.unfreeze() == Unfreeze.ALL) {
            return false; // nothing is frozen
        }
        if (o.augment()) {
            if (net.unfreeze() == Unfreeze.FC) {
                listener.message("training with augmentation: the frozen backbone runs on every image every epoch "
                        + "(without augmentation, augment(false) or --no-augment, its features are computed once and the head trains from a cache)");
            }
            return false;
        }
        if (!o.featureCache()) {
            listener.message("feature cache off: the frozen layers run on every image every epoch");
            return false;
        }
        long per = 4;
        for (int d : net.frozenShape(o.imageSize())) {
            per *= d;
        }
        long need = per * (split.train().size() + split.val().size());
        long budget = Math.min(o.featureCacheBytes(), Runtime.getRuntime().maxMemory() / 2);
        if (need > budget) {
            listener.message(String.format(Locale.ROOT, "feature cache off: the frozen layers' output would need %.0f MiB,"
                    + " more than the %.0f MiB allowed (half the heap, at most featureCacheBytes / --feature-cache-mb); the frozen layers"
                    + " run every epoch", need / 1048576.0, budget / 1048576.0));
            return false;
        }
        return true;
    }

    private FeatureCache buildCache(TrainingBackend backend, List<Sample> samples, Transform transform,
                                    Unfreeze unfreeze) {
        long t0 = System.nanoTime();
        try (DataLoader loader = DataLoader.builder(samples, transform).batchSize(o.batchSize()).workers(o.workers())
                .build()) {
            FeatureCache cache = FeatureCache.build(loader, samples, backend, done -> {
                double ips = done / ((System.nanoTime() - t0) / 1e9);
                listener.progress(new TrainingListener.Progress(TrainingListener.Phase.FEATURE_CACHE, 0, o.epochs(),
                        done, samples.size(), Double.NaN, ips, Math.max(0, samples.size() - done) / ips));
            });
            addSkipped(loader.skipped());
            return cache;
        }
    }

    /** The loader's batching ({@link DataLoader}: batch k is positions [kB, (k+1)B) of the order) over the cache. */
    private Iterator<FeatureCache.Rows> cachedBatches(FeatureCache cache, int[] order, int batches) {
        int batchSize = o.batchSize();
        return new Iterator<>() {
            int next;
            FeatureCache.Rows ready;

            @Override
            public boolean hasNext() {
                while (ready == null && next < batches) {
                    int from = next * batchSize;
                    ready = cache.rows(order, from, Math.min(order.length, from + batchSize));
                    next++;
                }
                return ready != null;
            }

            @Override
            public FeatureCache.Rows next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                FeatureCache.Rows r = ready;
                ready = null;
                return r;
            }
        };
    }

    private static Iterator<FeatureCache.Rows> loaderBatches(Iterable<Batch> epoch) {
        Iterator<Batch> it = epoch.iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public FeatureCache.Rows next() {
                Batch b = it.next();
                return new FeatureCache.Rows(b.images(), b.labels());
            }
        };
    }

    private void addSkipped(List<Skipped> list) {
        for (Skipped s : list) {
            if (skipped.stream().noneMatch(x -> x.file().equals(s.file()))) {
                skipped.add(s);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ outputs

    private void writeModel(Map<String, Tensor> weights, Map<String, String> metadata) throws IOException {
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : weights.entrySet()) {
            Tensor t = e.getValue();
            entries.put(e.getKey(), new WeightSet.Entry(e.getKey(), DataType.F32, t, null, t.shape().dims()));
        }
        SafetensorsWriter.write(o.output(), new WeightSet(null, entries, Map.of()), DataType.F32, metadata);
    }

    private Map<String, String> modelMetadata(List<String> classes, Preset preset, Trainer<?> net, Start start,
                                              ImageFolder.Split split, List<EpochMetrics> history,
                                              EpochMetrics kept) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.putAll(ArchitectureMatch.metadata(net.network().architecture()));
        meta.put(ResNet.META_PRESET, preset.id());
        meta.put(ResNet.META_CLASSES, String.join("\n", classes));
        meta.put(ResNet.META_SOURCE, "jresnet finetune of " + start.weights() + " on " + o.data());
        meta.put(META_IMAGE_SIZE, Integer.toString(o.imageSize()));
        DataSplit dataSplit = dataSplit(split);
        meta.put(DataSplit.META, dataSplit.encode());
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("data", o.data().toString());
        summary.put("weights", start.weights());
        summary.put("pretrained", start.pretrained());
        summary.put("classes", classes.size());
        summary.put("train_images", split.train().size());
        summary.put("val_images", split.val().size());
        summary.put("split", dataSplit.folders() ? "train/ and val/ folders" : "fraction");
        summary.put("val_fraction", dataSplit.folders() ? null : (Object) o.valFraction());
        summary.put("epochs", history.size());
        summary.put("unfreeze", net.unfreeze().id());
        summary.put("train_bn", net.trainBn());
        summary.put("batch", o.batchSize());
        summary.put("optimizer", o.optimizer().id());
        summary.put("lr", (double) o.lr());
        summary.put("momentum", (double) o.momentum());
        summary.put("weight_decay", (double) o.weightDecay());
        summary.put("schedule", o.schedule().id());
        summary.put("warmup_epochs", o.warmupEpochs());
        summary.put("label_smoothing", (double) o.labelSmoothing());
        summary.put("clip_grad_norm", (double) o.clipGradNorm());
        summary.put("augment", o.augment());
        summary.put("image_size", o.imageSize());
        summary.put("seed", o.seed());
        if (!history.isEmpty()) {
            EpochMetrics last = history.get(history.size() - 1);
            Map<String, Object> fin = new LinkedHashMap<>();
            fin.put("train_loss", last.trainLoss());
            fin.put("train_top1", last.trainTop1());
            fin.put("val_loss", last.valLoss());
            fin.put("val_top1", last.valTop1());
            fin.put("val_top5", last.valTop5());
            summary.put("final", fin);
        }
        if (kept != null) {
            meta.put(META_KEPT_EPOCH, Integer.toString(kept.epoch()));
            Map<String, Object> k = new LinkedHashMap<>();
            k.put("epoch", kept.epoch());
            k.put("by", Double.isNaN(kept.valTop1()) ? "last epoch (no validation set)"
                    : "best validation top-1 (ties: lower validation loss, then earlier)");
            k.put("val_loss", kept.valLoss());
            k.put("val_top1", kept.valTop1());
            k.put("val_top5", kept.valTop5());
            summary.put("kept", k);
        }
        meta.put(META_TRAINING, json(summary));
        return meta;
    }

    /** The settings that change a run's result: a resume must match them. */
    private Map<String, String> settings(ImageFolder.Split split, Preset preset, Optimizer optimizer,
                                         Trainer<?> net) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("unfreeze", net.unfreeze().id());
        s.put("train_bn", Boolean.toString(net.trainBn()));
        s.put("batch", Integer.toString(o.batchSize()));
        s.put("optimizer", optimizer.describe());
        s.put("lr", Float.toString(o.lr()));
        s.put("schedule", o.schedule().id());
        s.put("warmup_epochs", Integer.toString(o.warmupEpochs()));
        if (o.schedule() == FineTuneOptions.ScheduleKind.STEP) {
            s.put("lr_step_epochs", Integer.toString(o.effectiveLrStepEpochs()));
        }
        s.put("label_smoothing", Float.toString(o.labelSmoothing()));
        s.put("clip_grad_norm", Float.toString(o.clipGradNorm()));
        s.put("val_fraction", Double.toString(o.valFraction()));
        s.put("seed", Long.toString(o.seed()));
        s.put("image_size", Integer.toString(o.imageSize()));
        s.put("preset", preset.id());
        s.put("augment", Boolean.toString(o.augment()));
        s.put("architecture", net.network().architecture().id());
        s.put("variant", net.network().architecture().variant().id());
        s.put("train_images", Integer.toString(split.train().size()));
        s.put("val_images", Integer.toString(split.val().size()));
        return s;
    }

    private void checkResumable(Checkpoint ckpt, Map<String, String> now, List<String> classes)
            throws WeightFormatException {
        String ckptClasses = ckpt.metadata().get(ResNet.META_CLASSES);
        if (ckptClasses == null || !ckptClasses.equals(String.join("\n", classes))) {
            throw new IllegalArgumentException("cannot resume from " + o.resume() + ": it was trained on the classes "
                    + (ckptClasses == null ? "(unknown)" : List.of(ckptClasses.split("\n", -1))) + ", the data has "
                    + classes);
        }
        Map<String, String> then = decode(o.resume(), ckpt.metadata().get(META_SETTINGS));
        List<String> diffs = new ArrayList<>();
        for (Map.Entry<String, String> e : now.entrySet()) {
            String was = then.get(e.getKey());
            if (!e.getValue().equals(was)) {
                diffs.add(e.getKey() + " " + was + " in the checkpoint, " + e.getValue() + " now");
            }
        }
        for (String key : then.keySet()) {
            if (!now.containsKey(key)) {
                diffs.add(key + " " + then.get(key) + " in the checkpoint, unset now");
            }
        }
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException("cannot resume from " + o.resume() + " exactly: settings differ: "
                    + String.join("; ", diffs) + " (use the checkpoint's settings, or start a new run)");
        }
    }

    static String encode(Map<String, String> settings) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : settings.entrySet()) {
            sb.append(e.getKey()).append('=').append(e.getValue()).append('\n');
        }
        return sb.toString();
    }

    static Map<String, String> decode(Path file, String text) throws WeightFormatException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new WeightFormatException(file + ": bad settings line \"" + line + "\" in " + META_SETTINGS);
            }
            out.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return out;
    }

    /** One line per epoch: epoch, train loss, val loss, train top-1, val top-1, val top-5, images/s, seconds, lr. */
    static String encodeHistory(List<EpochMetrics> history) {
        StringBuilder sb = new StringBuilder();
        for (EpochMetrics m : history) {
            sb.append(m.epoch()).append(',').append(m.trainLoss()).append(',').append(m.valLoss()).append(',')
                    .append(m.trainTop1()).append(',').append(m.valTop1()).append(',').append(m.valTop5()).append(',')
                    .append(m.imagesPerSecond()).append(',').append(m.seconds()).append(',').append(m.lr()).append('\n');
        }
        return sb.toString();
    }

    List<EpochMetrics> parseHistory(String text) throws WeightFormatException {
        List<EpochMetrics> out = new ArrayList<>();
        if (text == null) {
            return out;
        }
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split(",");
            try {
                if (f.length != 8 && f.length != 9) { // 8: written before the learning rate was recorded
                    throw new IllegalArgumentException("expected 9 fields, found " + f.length);
                }
                out.add(new EpochMetrics(Integer.parseInt(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]),
                        Double.parseDouble(f[3]), Double.parseDouble(f[4]), Double.parseDouble(f[5]),
                        Double.parseDouble(f[6]), Double.parseDouble(f[7]), f.length == 9 ? Double.parseDouble(f[8])
                        : Double.NaN));
            } catch (IllegalArgumentException e) {
                throw new WeightFormatException(o.resume() + ": bad history line \"" + line + "\": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /** A JSON object of strings, numbers (non-finite as null), booleans and nested objects. */
    static String json(Map<String, Object> map) {
        StringBuilder sb = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, Object> e : map.entrySet()) {
            if (!first) {
                sb.append(", ");
            }
            first = false;
            quote(sb, e.getKey());
            sb.append(": ");
            Object v = e.getValue();
            if (v == null) {
                sb.append("null");
            } else if (v instanceof String str) {
                quote(sb, str);
            } else if (v instanceof Double d) {
                sb.append(Double.isFinite(d) ? d.toString() : "null");
            } else if (v instanceof Map<?, ?> m) {
                @SuppressWarnings("unchecked")
                Map<String, Object> nested = (Map<String, Object>) m;
                sb.append(json(nested));
            } else {
                sb.append(v);
            }
        }
        return sb.append('}').toString();
    }

    private static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** The kept epoch a checkpoint records, from its history; null when it records none (an older checkpoint). */
    private EpochMetrics keptEpoch(String recorded, List<EpochMetrics> history) throws WeightFormatException {
        if (recorded == null) {
            return null;
        }
        try {
            int e = Integer.parseInt(recorded);
            if (e < 1 || e > history.size()) {
                throw new NumberFormatException("not an epoch of its " + history.size());
            }
            return history.get(e - 1);
        } catch (NumberFormatException ex) {
            throw new WeightFormatException(o.resume() + ": bad " + META_KEPT_EPOCH + " \"" + recorded + "\": "
                    + ex.getMessage(), ex);
        }
    }

    private DataSplit dataSplit(ImageFolder.Split split) {
        boolean folders = Files.isDirectory(o.data().resolve("train")) && Files.isDirectory(o.data().resolve("val"));
        return DataSplit.of(o.data(), folders, o.valFraction(), o.seed(), split.train().size(), split.val().size());
    }

    private TrainingDivergedException diverged(String reason, float loss, float lr, int epoch, long step,
                                               int epochsDone) {
        String kept = epochsDone > 0 && Files.exists(o.checkpointPath())
                ? "; " + o.checkpointPath() + " keeps the last checkpoint" : "";
        return new TrainingDivergedException(String.format(Locale.ROOT, "training diverged at epoch %d, step %d: %s "
                        + "at learning rate %s; lower the learning rate (e.g. %s) or clip the gradient norm (e.g. 1)."
                        + " No model was written%s", epoch, step, reason, TrainingDivergedException.format(lr),
                TrainingDivergedException.lower(o.lr()), kept),
                reason, loss, lr, epoch, step);
    }

    /**
     * Thrown when the training loss is not finite, or stays far above where training starts ({@link
     * DivergenceGuard}): the steps are too large. No model is written; the last checkpoint is left as it was.
     */
    public static final class TrainingDivergedException extends RuntimeException {
        private final String reason;
        private final float loss;
        private final float lr;
        private final int epoch;
        private final long step;

        public TrainingDivergedException(String message, String reason, float loss, float lr, int epoch, long step) {
            super(message);
            this.reason = reason;
            this.loss = loss;
            this.lr = lr;
            this.epoch = epoch;
            this.step = step;
        }

        /** What was seen, e.g. "the loss is NaN". */
        public String reason() {
            return reason;
        }

        /** The loss of the batch that stopped the run. */
        public float loss() {
            return loss;
        }

        /** The learning rate of that step (the schedule's). */
        public float lr() {
            return lr;
        }

        /** 1-based. */
        public int epoch() {
            return epoch;
        }

        /** 1-based, counted over the whole run. */
        public long step() {
            return step;
        }

        /** A tenth of {@code lr}, rounded to one significant digit: the learning rate to try next. */
        public static String lower(float lr) {
            return new java.math.BigDecimal(lr / 10.0).round(new java.math.MathContext(1)).stripTrailingZeros()
                    .toPlainString();
        }

        /** {@code lr} to 3 significant digits, without an exponent: "0.00967", "10". */
        public static String format(float lr) {
            return new java.math.BigDecimal(Float.toString(lr)).round(new java.math.MathContext(3))
                    .stripTrailingZeros().toPlainString();
        }
    }
}
