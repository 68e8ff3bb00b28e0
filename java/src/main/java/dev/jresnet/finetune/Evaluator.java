package dev.jresnet.finetune;

import dev.jresnet.train.Batch;
import dev.jresnet.train.DataLoader;
import dev.jresnet.train.ImageFolder;
import dev.jresnet.train.InvalidDatasetException;
import dev.jresnet.train.Metrics;
import dev.jresnet.train.Sample;
import dev.jresnet.train.Skipped;
import dev.jresnet.train.Transforms;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Accuracy of a model on an {@link ImageFolder}: top-1, top-5, per-class accuracy, the confusion matrix and the
 * mean cross-entropy, with the model's evaluation transform at the size it was trained at.
 *
 * <pre>{@code
 * try (ResNet model = ResNet.load(Path.of("shapes.safetensors"), Device.cpu())) {
 *     Evaluator.Selection data = Evaluator.select(Path.of("shapes"), 0.2, 0);   // the fine-tuning's val split
 *     Evaluator.Result r = Evaluator.evaluate(model, data, model.inputSize(), 32, 4, null);
 *     System.out.println(r.metrics().confusionText(r.classes()));
 * }
 * }</pre>
 */
public final class Evaluator {
    private Evaluator() {}

    /** The images to evaluate on, labelled by {@code classes}, and where they came from in words. */
    public record Selection(List<String> classes, List<Sample> samples, String description) {
        public Selection {
            classes = List.copyOf(classes);
            samples = List.copyOf(samples);
        }
    }

    /**
     * The model's accuracy: {@code metrics} over the model's classes (rows: true class), the mean cross-entropy
     * {@code loss}, how many images were evaluated, the ones that could not be decoded, and the time taken.
     */
    public record Result(List<String> classes, Metrics metrics, double loss, int images, List<Skipped> skipped,
                         double seconds) {
        public Result {
            classes = List.copyOf(classes);
            skipped = List.copyOf(skipped);
        }

        public double top1() {
            return metrics.top1();
        }

        public double top5() {
            return metrics.top5();
        }

        public double imagesPerSecond() {
            return seconds > 0 ? images / seconds : Double.NaN;
        }
    }

    /**
     * What to evaluate under {@code root}: {@code root/val} when it exists; otherwise, when {@code valFraction} is
     * given, the validation part of the split that {@code finetune --val-fraction F --seed S} made; otherwise every
     * image of {@code root}.
     */
    public static Selection select(Path root, Double valFraction, long seed) throws IOException {
        Path val = root.resolve("val");
        if (Files.isDirectory(val)) {
            ImageFolder f = ImageFolder.scan(val);
            return new Selection(f.classes(), f.samples(), val + " (" + f.samples().size() + " images)");
        }
        if (valFraction != null) {
            if (valFraction == 0) {
                throw new IllegalArgumentException("--val-fraction 0 leaves no validation images; leave it out to "
                        + "evaluate on every image of " + root);
            }
            ImageFolder.Split s = ImageFolder.split(root, valFraction, seed);
            return new Selection(s.classes(), s.val(), String.format(Locale.ROOT,
                    "%s, the validation part of --val-fraction %s --seed %d (%d images)", root, valFraction, seed,
                    s.val().size()));
        }
        ImageFolder f = ImageFolder.scan(root);
        return new Selection(f.classes(), f.samples(), root + " (all " + f.samples().size() + " images)");
    }

    /**
     * Runs {@code model} over {@code data} in batches of {@code batch} (decoded on {@code workers} threads) at
     * {@code imageSize} px; {@code progress} (may be null) hears each batch. The data's classes must be the
     * model's (any order); results are over the model's classes.
     */
    public static Result evaluate(ResNet model, Selection data, int imageSize, int batch, int workers,
                                  Consumer<TrainingListener.Progress> progress) throws IOException {
        if (batch < 1 || workers < 1) {
            throw new IllegalArgumentException("batch and workers must be >= 1, got " + batch + " and " + workers);
        }
        if (data.samples().isEmpty()) {
            throw new IllegalArgumentException("no images to evaluate in " + data.description());
        }
        int[] toModel = labelMap(model.labels(), data.classes());
        List<Sample> samples = new ArrayList<>(data.samples().size());
        for (Sample s : data.samples()) {
            samples.add(new Sample(s.file(), toModel[s.label()]));
        }
        Metrics metrics = new Metrics(model.labels().size());
        long t0 = System.nanoTime();
        double lossSum = 0;
        int seen = 0;
        List<Skipped> skipped;
        try (DataLoader loader = DataLoader.builder(samples, Transforms.eval(model.preset(), imageSize))
                .batchSize(batch).workers(workers).build()) {
            for (Batch b : loader.epoch(0)) {
                Tensor logits = model.forward(b.images());
                metrics.add(logits, b.labels());
                lossSum += (double) CpuGrads.softmaxCrossEntropy(null, logits, b.labels(), 0f) * b.size();
                seen += b.size();
                if (progress != null) {
                    double ips = seen / ((System.nanoTime() - t0) / 1e9);
                    progress.accept(new TrainingListener.Progress(TrainingListener.Phase.VALIDATE, 1, 1, seen,
                            samples.size(), lossSum / seen, ips, Math.max(0, samples.size() - seen) / ips));
                }
            }
            skipped = loader.skipped();
        }
        if (seen == 0) {
            throw new InvalidDatasetException("none of the " + samples.size() + " images of " + data.description()
                    + " could be decoded");
        }
        return new Result(model.labels(), metrics, lossSum / seen, seen, skipped, (System.nanoTime() - t0) / 1e9);
    }

    /** For each data class index, the model's index of the same name; throws naming what does not match. */
    static int[] labelMap(List<String> modelClasses, List<String> dataClasses) {
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < modelClasses.size(); i++) {
            index.putIfAbsent(modelClasses.get(i), i);
        }
        int[] map = new int[dataClasses.size()];
        TreeSet<String> missing = new TreeSet<>();
        for (int i = 0; i < dataClasses.size(); i++) {
            Integer m = index.get(dataClasses.get(i));
            if (m == null) {
                missing.add(dataClasses.get(i));
            } else {
                map[i] = m;
            }
        }
        if (!missing.isEmpty()) {
            List<String> shown = modelClasses.size() <= 20 ? modelClasses : modelClasses.subList(0, 20);
            throw new IllegalArgumentException("the data's class folders " + missing + " are not classes of the model "
                    + "(its " + modelClasses.size() + " classes: " + String.join(", ", shown)
                    + (modelClasses.size() > 20 ? ", ..." : "") + "); evaluate a model fine-tuned on these classes");
        }
        return map;
    }
}
