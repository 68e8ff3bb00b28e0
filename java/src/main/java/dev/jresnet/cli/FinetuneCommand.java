package dev.jresnet.cli;

import dev.jresnet.image.Preset;
import dev.jresnet.graph.Architecture;
import dev.jresnet.resnet.Device;
import dev.jresnet.train.EpochMetrics;
import dev.jresnet.finetune.FineTuneOptions;
import dev.jresnet.finetune.FineTuneResult;
import dev.jresnet.finetune.FineTuner;
import dev.jresnet.train.Skipped;
import dev.jresnet.train.Unfreeze;
import dev.jresnet.finetune.TrainingListener;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code jresnet finetune DATA --weights W --out MODEL.safetensors}: transfer learning on an image folder. */
@Command(name = "finetune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune a ResNet (resnet50 by default) on an image folder (DATA/CLASS/*.jpg|png, or DATA/train and DATA/val): "
                + "a new head for the folder's classes, the stages from --unfreeze on trained, the rest frozen.",
                "Writes MODEL.safetensors (self-contained, with the class names; the weights of the epoch with the best "
                        + "validation top-1), MODEL.ckpt.safetensors after each epoch (for --resume) and MODEL.curves.png.",
                "--demo: generate a synthetic shapes dataset and train a small network on it from scratch (1-2 minutes "
                        + "on two cores), to see fine-tuning work before using your own images."})
final class FinetuneCommand implements Callable<Integer> {
    /** Largest --feature-cache-mb: 2^24 MiB = 16 TiB, so the size in bytes (x 2^20) stays far inside a long. */
    static final long MAX_FEATURE_CACHE_MB = 1L << 24;
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "DATA", description = "Image folder: one sub-folder per class "
            + "(none with --demo).")
    Path data;

    @Option(names = "--demo", description = "Generate the synthetic shapes dataset and train resnet18 on it from "
            + "untrained weights (settings printed; any option given overrides them). --out: the model file, or a "
            + "folder for the data and model. Default: a new temporary folder.")
    boolean demo;

    @Option(names = "--weights", paramLabel = "FILE",
            description = "Starting weights (.pth, .safetensors, .onnx). Default: as classify's ($JRESNET_WEIGHTS, "
                    + "weights/resnet50.safetensors, the cached download of --arch), else the seeded UNTRAINED backbone.")
    Path weights;

    @Option(names = "--arch", paramLabel = "NAME",
            description = "Architecture (resnet18 ... resnext101_64x4d). Default: the weights', else resnet50.")
    String arch;

    @Option(names = "--out", paramLabel = "MODEL.safetensors", description = "The fine-tuned model (required without "
            + "--demo).")
    Path output;

    @Option(names = "--unfreeze", defaultValue = "fc", paramLabel = "STAGE",
            description = "First trainable stage: fc, layer4, layer3, layer2, layer1 or all. Default: ${DEFAULT-VALUE}.")
    String unfreeze;

    @Option(names = "--train-bn", description = "Trainable BatchNorm layers use batch statistics (train mode); "
            + "default: they keep their running statistics.")
    boolean trainBn;

    @Option(names = "--epochs", defaultValue = "10", description = "Default: ${DEFAULT-VALUE}.")
    int epochs;

    @Option(names = "--batch", defaultValue = "32", description = "Images per step. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--optimizer", defaultValue = "sgd", paramLabel = "sgd|adamw", description = "Default: ${DEFAULT-VALUE}.")
    String optimizer;

    @Option(names = "--lr", paramLabel = "LR", description = "Peak learning rate. Default: 0.01 (sgd), 0.001 (adamw).")
    Float lr;

    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum. Default: ${DEFAULT-VALUE}.")
    float momentum;

    @Option(names = "--weight-decay", paramLabel = "WD", description = "Default: 1e-4 (sgd), 0.01 (adamw).")
    Float weightDecay;

    @Option(names = "--schedule", defaultValue = "cosine", paramLabel = "constant|step|cosine",
            description = "Learning-rate schedule, stepped every batch. Default: ${DEFAULT-VALUE}.")
    String schedule;

    @Option(names = "--warmup-epochs", defaultValue = "0", paramLabel = "N",
            description = "Linear warm-up from lr/100 over N epochs. Default: ${DEFAULT-VALUE}.")
    int warmupEpochs;

    @Option(names = "--lr-step-epochs", defaultValue = "0", paramLabel = "N",
            description = "Step schedule: lr x0.1 every N epochs. Default: a third of the epochs.")
    int lrStepEpochs;

    @Option(names = "--label-smoothing", defaultValue = "0", paramLabel = "S", description = "Default: ${DEFAULT-VALUE}.")
    float labelSmoothing;

    @Option(names = "--clip-grad-norm", defaultValue = "0", paramLabel = "N",
            description = "Clip the global gradient L2 norm to N; 0: off. Default: ${DEFAULT-VALUE}.")
    float clipGradNorm;

    @Option(names = "--val-fraction", defaultValue = "0.2", paramLabel = "F",
            description = "Share of each class held out for validation (unless DATA has train/ and val/). "
                    + "Default: ${DEFAULT-VALUE}.")
    double valFraction;

    @Option(names = "--seed", defaultValue = "0", description = "Seeds the split, shuffling, augmentation and the new "
            + "head. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--no-augment", description = "No RandomResizedCrop/flip: train on the evaluation transform "
            + "(enables the feature cache).")
    boolean noAugment;

    @Option(names = "--no-feature-cache", description = "Run the frozen layers on every image every epoch even "
            + "without augmentation (to measure what the cache saves).")
    boolean noFeatureCache;

    @Option(names = "--feature-cache-mb", defaultValue = "2048", paramLabel = "MB",
            description = "Largest feature cache; never more than half the heap. Default: ${DEFAULT-VALUE}.")
    long featureCacheMb;

    @Option(names = "--image-size", paramLabel = "PX", description = "Network input side (>= 32). Default: the "
            + "preset's crop, 224.")
    Integer imageSize;

    @Option(names = "--preset", paramLabel = "NAME", description = "torchvision-v1 or torchvision-v2. Default: from "
            + "the weights' metadata, else torchvision-v1.")
    String preset;

    @Option(names = "--workers", paramLabel = "N", description = "Image decoding threads. Default: min(4, CPUs).")
    Integer workers;

    @Option(names = "--checkpoint", paramLabel = "FILE",
            description = "Per-epoch checkpoint. Default: MODEL.ckpt.safetensors next to --out.")
    Path checkpoint;

    @Option(names = "--checkpoint-every", defaultValue = "1", paramLabel = "N",
            description = "Write the checkpoint every N epochs (and after the last). Default: ${DEFAULT-VALUE}.")
    int checkpointEvery;

    @Option(names = "--resume", paramLabel = "CKPT", description = "Continue a run from its checkpoint, exactly.")
    Path resume;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda",
            description = "cpu or cuda (cuda:N). Default: ${DEFAULT-VALUE}.")
    String device;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        FinetuneDemo demoRun = null;
        if (demo) {
            demoRun = FinetuneDemo.prepare(this, out);
        } else if (data == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required parameter: 'DATA' (or --demo)");
        } else if (output == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--out=MODEL.safetensors'");
        }
        Device d = Device.parse(device);
        FineTuneOptions.OptimizerKind opt = FineTuneOptions.OptimizerKind.parse(optimizer);
        if (featureCacheMb < 0 || featureCacheMb > MAX_FEATURE_CACHE_MB) {
            // Bounded before the shift to bytes, which would overflow into a negative size nobody typed.
            throw new IllegalArgumentException("--feature-cache-mb must be in 0.." + MAX_FEATURE_CACHE_MB
                    + " (16 TiB), got " + featureCacheMb);
        }
        // The same default weights as classify; --resume takes every weight from its checkpoint instead.
        Path start = weights != null || resume != null || demo ? weights
                : ModelOptions.defaultWeights(arch, System.getenv(), WeightsCache.dir());
        FineTuneOptions.Builder b = FineTuneOptions.builder(data, output)
                .weights(start)
                .architecture(arch == null ? null : Architecture.of(arch))
                .unfreeze(Unfreeze.parse(unfreeze))
                .trainBn(trainBn)
                .epochs(epochs)
                .batchSize(batch)
                .optimizer(opt)
                .momentum(momentum)
                .schedule(FineTuneOptions.ScheduleKind.parse(schedule))
                .warmupEpochs(warmupEpochs)
                .lrStepEpochs(lrStepEpochs)
                .labelSmoothing(labelSmoothing)
                .clipGradNorm(clipGradNorm)
                .valFraction(valFraction)
                .seed(seed)
                .augment(!noAugment)
                .featureCache(!noFeatureCache)
                .featureCacheBytes(featureCacheMb << 20)
                .checkpoint(checkpoint)
                .checkpointEvery(checkpointEvery)
                .resume(resume)
                .device(d);
        if (lr != null) {
            b.lr(lr);
        }
        if (weightDecay != null) {
            b.weightDecay(weightDecay);
        }
        Preset p = preset != null ? Preset.fromName(preset) : null;
        b.preset(p);
        b.imageSize(imageSize != null ? imageSize : p != null ? p.cropSize() : Preset.TORCHVISION_V1.cropSize());
        if (workers != null) {
            b.workers(workers);
        }
        FineTuneOptions options = b.build();
        FineTuner.requireOutputsAreNotInputs(options, FineTuneOptions.sibling(output, ".curves.png"));
        if (!Files.isDirectory(data)) {
            throw new IllegalArgumentException("DATA " + data + " is not a folder");
        }
        if (start == null && resume == null && !demo) {
            err.println("jresnet: WARNING: no --weights: fine-tuning the SEEDED UNTRAINED backbone (seed "
                    + FineTuner.UNTRAINED_SEED + "), whose features are random.");
            err.println("jresnet: WARNING: expect far lower accuracy than from pretrained ImageNet weights; get them "
                    + "with `" + PretrainedWeights.downloadCommand(arch == null ? "resnet50" : arch) + "`.");
        }
        if (resume != null && weights != null) {
            err.println("jresnet: note: --resume takes every weight from " + resume + "; --weights is not read");
        }
        err.flush();

        ProgressBar bar = new ProgressBar(err, ProgressBar.isTerminal());
        TrainingListener listener = new TrainingListener() {
            @Override
            public void started(Plan plan) {
                err.println("device:  " + plan.device());
                err.println("weights: " + plan.weights() + (plan.pretrained() ? "" : ": UNTRAINED backbone"));
                err.flush();
                out.printf(Locale.ROOT, "data: %s: %d classes, %d training and %d validation images%n", data,
                        plan.classes().size(), plan.trainImages(), plan.valImages());
                out.printf(Locale.ROOT, "training: unfreeze %s%s (%,d trainable parameters), %s, %s schedule, "
                                + "lr %s, batch %d, %d epochs of %d steps%s%n", options.unfreeze().id(),
                        options.trainBn() ? " with train-mode BatchNorm" : "", plan.trainableParameters(),
                        plan.optimizer(), options.schedule().id(), options.lr(), options.batchSize(), plan.epochs(),
                        plan.stepsPerEpoch(), plan.newHead() ? "; new " + plan.classes().size() + "-class head" : "");
                out.printf(Locale.ROOT, "input: %d px, %s; feature cache: %s%n", options.imageSize(),
                        options.augment() ? "augmented (RandomResizedCrop + flip)" : "no augmentation",
                        plan.featureCache() ? "on (the frozen layers run once per image)" : "off");
                if (plan.startEpoch() > 0) {
                    out.printf(Locale.ROOT, "resuming after epoch %d%n", plan.startEpoch());
                }
                out.flush();
            }

            @Override
            public void message(String text) {
                bar.finish();
                err.println("jresnet: " + text);
                err.flush();
            }

            @Override
            public void progress(Progress p) {
                bar.update(p);
            }

            @Override
            public void epochEnded(EpochMetrics m) {
                bar.finish();
                out.println(epochLine(m, options.epochs()));
                out.flush();
            }
        };

        FineTuneResult r;
        try {
            r = FineTuner.run(options, listener);
        } catch (FineTuner.TrainingDivergedException e) {
            throw new IllegalStateException(divergedMessage(e, options));
        } finally {
            bar.finish();
        }

        Path curves = FineTuneOptions.sibling(output, ".curves.png");
        if (!r.history().isEmpty()) {
            Charts.trainingCurves(curves, r.history(), Charts.Run.of(options, r));
        }
        out.println();
        out.println("model:      " + r.model() + " (" + r.classes().size() + " classes; try: jresnet classify --weights "
                + r.model() + " IMAGE, jresnet evaluate " + data + " --weights " + r.model() + ")");
        out.println("checkpoint: " + r.checkpoint());
        if (!r.history().isEmpty()) {
            out.println("curves:     " + curves);
        }
        String kept = keptLine(r);
        if (kept != null) {
            out.println(kept);
        }
        if (r.cache() != null) {
            FineTuneResult.CacheStats c = r.cache();
            out.printf(Locale.ROOT, "feature cache: %d images (%.1f MiB) built in %.2f s; a cached epoch took %.3f s, "
                            + "an uncached one would take about %.2f s: %.0fx more epochs per second%n", c.images(),
                    c.bytes() / 1048576.0, c.buildSeconds(), c.cachedEpochSeconds(), c.uncachedEpochSeconds(),
                    c.speedup());
        }
        if (!r.pretrained() && !demo) {
            out.println("NOTE: trained from the UNTRAINED seeded backbone; use --weights with pretrained weights for "
                    + "real accuracy");
        }
        List<Skipped> skipped = r.skipped();
        if (!skipped.isEmpty()) {
            out.println("skipped " + skipped.size() + " undecodable image" + (skipped.size() == 1 ? "" : "s") + ":");
            for (Skipped s : skipped) {
                out.println("  " + Terminal.safe(s.file() + ": " + s.reason()));
            }
        }
        if (demoRun != null) {
            demoRun.summary(r, out);
        }
        out.flush();
        // 1: the model was written, but some images were left out (listed above).
        return skipped.isEmpty() ? 0 : 1;
    }

    /**
     * "kept epoch K of E (validation top-1 ..., top-5 ..., loss ...)": which epoch's weights the model holds, and why;
     * null when no epoch ran.
     */
    static String keptLine(FineTuneResult r) {
        EpochMetrics k = r.kept();
        if (k == null) {
            return null;
        }
        if (Double.isNaN(k.valTop1())) {
            return String.format(Locale.ROOT, "kept:       epoch %d of %d, the last (no validation set to choose by)",
                    k.epoch(), r.history().size());
        }
        return String.format(Locale.ROOT, "kept:       epoch %d of %d, the best validation top-1: %.1f %%%s, loss %.4f%s",
                k.epoch(), r.history().size(), 100 * k.valTop1(),
                Double.isNaN(k.valTop5()) ? "" : String.format(Locale.ROOT, ", top-5 %.1f %%", 100 * k.valTop5()),
                k.valLoss(), k.epoch() == r.last().epoch() ? "" : String.format(Locale.ROOT,
                        " (the last epoch had top-1 %.1f %%)", 100 * r.last().valTop1()));
    }

    /** The divergence in the CLI's words: what happened, at which --lr, and the options that fix it. */
    static String divergedMessage(FineTuner.TrainingDivergedException e, FineTuneOptions o) {
        String lr = FineTuner.TrainingDivergedException.format(o.lr());
        String at = e.lr() == o.lr() ? "--lr " + lr
                : "lr " + FineTuner.TrainingDivergedException.format(e.lr()) + " (--lr " + lr + ")";
        return String.format(Locale.ROOT, "training diverged at epoch %d, step %d: %s at %s; lower --lr (e.g. --lr %s)"
                        + "%s. No model was written", e.epoch(), e.step(), e.reason(), at,
                FineTuner.TrainingDivergedException.lower(o.lr()),
                o.clipGradNorm() > 0 ? "" : " or add --clip-grad-norm 1");
    }

    static String epochLine(EpochMetrics m, int epochs) {
        String val = Double.isNaN(m.valTop1()) ? "no validation set"
                : String.format(Locale.ROOT, "val loss %.4f top-1 %5.1f %%", m.valLoss(), 100 * m.valTop1())
                + (Double.isNaN(m.valTop5()) ? "" : String.format(Locale.ROOT, " top-5 %5.1f %%", 100 * m.valTop5()));
        return String.format(Locale.ROOT, "epoch %d/%d  train loss %.4f top-1 %5.1f %%  |  %s  |  %.1f img/s, %.2f s",
                m.epoch(), epochs, m.trainLoss(), 100 * m.trainTop1(), val, m.imagesPerSecond(), m.seconds());
    }
}
