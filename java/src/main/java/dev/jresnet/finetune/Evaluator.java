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
 *     // the validation images of the split the model was fine-tuned with, as its metadata records it
 *     Evaluator.Selection data = Evaluator.select(Path.of("shapes"),
 *             DataSplit.fromMetadata(SafetensorsReader.metadata(Path.of("shapes.safetensors"))), null, null, false);
 *     Evaluator.Result r = Evaluator.evaluate(model, data, model.inputSize(), 32, 4, null);
 *     System.out.println(r.metrics().confusionText(r.classes()));
 * }
 * }</pre>
 */
public final class Evaluator {
    private Evaluator() {}

    /** Where a {@link Selection}'s images come from. */
    public enum Source {
        /** {@code DATA/val}. */
        VAL_FOLDER,
        /** The validation part of the split recorded in the model's metadata ({@link DataSplit}). */
        RECORDED_SPLIT,
        /** The validation part of a split the caller gave. */
        GIVEN_SPLIT,
        /** Every image. */
        ALL;

        /** val_folder, recorded_split, given_split, all. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The images to evaluate on, labelled by {@code classes}, where they came from ({@code source}, and in words),
     * the split's fraction and seed (null unless a split), and a {@code note} worth telling the user (null if none):
     * why every image is used, or that the folder changed since the fine-tuning.
     */
    public record Selection(List<String> classes, List<Sample> samples, String description, Source source,
                            Double valFraction, Long seed, String note) {
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
     * {@link #select(Path, DataSplit, Double, Long, boolean)} with no recorded split: {@code root/val}, else the
     * validation part of the split ({@code valFraction}, {@code seed}) when {@code valFraction} is given, else every
     * image.
     */
    public static Selection select(Path root, Double valFraction, long seed) throws IOException {
        return select(root, null, valFraction, valFraction == null ? null : seed, false);
    }

    /**
     * What to evaluate under {@code root}, so that a model is not scored on the images it was trained on:
     * <ol>
     *   <li>{@code all}: every image ({@code root/train} and {@code root/val} when it has both);</li>
     *   <li>{@code root/val} when it exists;</li>
     *   <li>{@code valFraction} given: the validation part of that split (as {@link FineTuner} makes it), seeded by
     *       {@code seed}, else by the recorded split's seed, else 0;</li>
     *   <li>{@code recorded} (the model's {@link DataSplit}) a fraction split of this very folder: its validation
     *       part, noting if the folder now gives another number of validation images than it did;</li>
     *   <li>otherwise every image, with a note saying why: the model records no split, was fine-tuned on
     *       another folder, or on every image of this one.</li>
     * </ol>
     * {@code seed} without {@code valFraction}, or {@code all} with it, is refused.
     */
    public static Selection select(Path root, DataSplit recorded, Double valFraction, Long seed, boolean all)
            throws IOException {
        if (seed != null && valFraction == null) {
            throw new IllegalArgumentException("a split seed applies only with a validation fraction");
        }
        if (all && valFraction != null) {
            throw new IllegalArgumentException("choose every image or a validation fraction, not both");
        }
        Path val = root.resolve("val");
        if (all) {
            if (Files.isDirectory(val) && Files.isDirectory(root.resolve("train"))) {
                ImageFolder.Split s = ImageFolder.split(root, 0.2, 0); // the folders are the split: no fraction used
                List<Sample> both = new ArrayList<>(s.train());
                both.addAll(s.val());
                return all(s.classes(), both, root + ": all " + both.size() + " images of train/ and val/", null);
            }
            ImageFolder f = ImageFolder.scan(root);
            return all(f.classes(), f.samples(), root + ": all " + f.samples().size() + " images", null);
        }
        if (Files.isDirectory(val)) {
            ImageFolder f = ImageFolder.scan(val);
            return new Selection(f.classes(), f.samples(), val + " (" + f.samples().size() + " images)",
                    Source.VAL_FOLDER, null, null, null);
        }
        if (valFraction != null) {
            if (valFraction == 0) {
                throw new IllegalArgumentException("a validation fraction of 0 leaves no validation images of " + root);
            }
            long s = seed != null ? seed : recorded != null && !recorded.folders() ? recorded.seed() : 0;
            ImageFolder.Split split = ImageFolder.split(root, valFraction, s);
            return new Selection(split.classes(), split.val(), String.format(Locale.ROOT,
                    "%s: the %d validation images of the split with fraction %s, seed %d", root, split.val().size(),
                    valFraction, s), Source.GIVEN_SPLIT, valFraction, s, null);
        }
        String why;
        if (recorded == null) {
            why = "the model records no fine-tuning split, so every image is evaluated (training images too, if it "
                    + "was trained on these)";
        } else if (recorded.folders() || !recorded.isDataFolder(root)) {
            why = "the model was fine-tuned on " + recorded.data() + ", not on " + root + ", so every image is evaluated";
        } else if (recorded.valFraction() == 0) {
            why = "the model was fine-tuned on every image of " + root + " (no validation split): these are its "
                    + "training images";
        } else {
            ImageFolder.Split split = ImageFolder.split(root, recorded.valFraction(), recorded.seed());
            String note = split.val().size() == recorded.valImages() && split.train().size() == recorded.trainImages()
                    ? null : String.format(Locale.ROOT, "%s now splits into %d training and %d validation images, "
                            + "the fine-tuning's into %d and %d: images were added or removed since, so some of these "
                            + "may have been trained on", root, split.train().size(), split.val().size(),
                    recorded.trainImages(), recorded.valImages());
            return new Selection(split.classes(), split.val(), String.format(Locale.ROOT,
                    "%s: the %d validation images of the split the model was fine-tuned with (%s)", root,
                    split.val().size(), recorded.describe()), Source.RECORDED_SPLIT, recorded.valFraction(),
                    recorded.seed(), note);
        }
        ImageFolder f = ImageFolder.scan(root);
        return all(f.classes(), f.samples(), root + ": all " + f.samples().size() + " images", why);
    }

    private static Selection all(List<String> classes, List<Sample> samples, String description, String note) {
        return new Selection(classes, samples, description, Source.ALL, null, null, note);
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
