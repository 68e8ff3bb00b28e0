package dev.jresnet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jresnet.io.FileChecks;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.finetune.DataSplit;
import dev.jresnet.finetune.Evaluator;
import dev.jresnet.finetune.FineTuneOptions;
import dev.jresnet.train.Skipped;
import dev.jresnet.weights.SafetensorsReader;
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

/** {@code jresnet evaluate DATA --weights MODEL}: accuracy, per-class accuracy and confusion matrix on an image folder. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a model on an image folder: top-1, top-5, per-class accuracy and the confusion matrix "
                + "(text, and a PNG next to the model).",
                "Evaluates DATA/val when it exists; else the validation images of the split the model was fine-tuned "
                        + "with (recorded in it) when DATA is the folder it was fine-tuned on; else every image of DATA. "
                        + "--val-fraction/--seed give another split, --all every image."})
final class EvaluateCommand implements Callable<Integer> {
    /** Beyond this many classes the confusion matrix is left out of the text output (it stays in the PNG and JSON). */
    static final int MAX_TEXT_CLASSES = 40;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DATA", description = "Image folder: one sub-folder per class.")
    Path data;

    @Option(names = "--weights", required = true, paramLabel = "MODEL",
            description = "The model (a fine-tuned .safetensors carries its class names and input size).")
    Path weights;

    @Option(names = "--json", description = "Print one JSON document instead of text.")
    boolean json;

    @Option(names = "--val-fraction", paramLabel = "F", description = "Evaluate the validation part of this split "
            + "(as finetune --val-fraction F --seed S makes it). Default: the split recorded in the model.")
    Double valFraction;

    @Option(names = "--seed", paramLabel = "S", description = "The --val-fraction split's seed. Default: the recorded "
            + "split's, else 0.")
    Long seed;

    @Option(names = "--all", description = "Evaluate every image of DATA, training images included.")
    boolean all;

    @Option(names = "--image-size", paramLabel = "PX",
            description = "Input side. Default: the size the model was fine-tuned at, else 224.")
    Integer imageSize;

    @Option(names = "--batch", defaultValue = "32", description = "Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--workers", paramLabel = "N", description = "Image decoding threads. Default: min(4, CPUs).")
    Integer workers;

    @Option(names = "--confusion-png", paramLabel = "FILE",
            description = "Where to draw the confusion matrix. Default: MODEL.confusion.png next to the model.")
    Path confusionPng;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda", description = "Default: ${DEFAULT-VALUE}.")
    String device;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path png = confusionPng != null ? confusionPng : FineTuneOptions.sibling(weights, ".confusion.png");
        FileChecks.requireNotAnInput(png, "--confusion-png", weights, data);
        if (seed != null && valFraction == null) {
            throw new IllegalArgumentException("--seed " + seed + " applies only with --val-fraction F");
        }
        if (all && valFraction != null) {
            throw new IllegalArgumentException("--all and --val-fraction exclude each other: every image, or a split");
        }
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        }
        if (!Files.isRegularFile(weights)) {
            throw new IllegalArgumentException("--weights " + weights + " does not exist");
        }
        if (!Files.isDirectory(data)) {
            throw new IllegalArgumentException("DATA " + data + " is not a folder");
        }
        int threads = workers != null ? workers : Math.min(4, Runtime.getRuntime().availableProcessors());
        if (threads < 1) {
            throw new IllegalArgumentException("--workers must be >= 1, got " + threads);
        }
        Evaluator.Selection selection = Evaluator.select(data, recordedSplit(weights), valFraction, seed, all);
        try (ResNet model = ResNet.builder().weights(weights).device(Device.parse(device)).build()) {
            int size = imageSize != null ? imageSize : model.inputSize();
            err.println("device:  " + model.device().description());
            err.println("weights: " + model.weightsDescription() + " (" + model.labels().size() + " classes, "
                    + size + " px)");
            err.println("data:    " + Terminal.safe(selection.description()) + hint(selection));
            if (selection.note() != null) {
                err.println("jresnet: note: " + Terminal.safe(selection.note()));
            }
            err.flush();
            ProgressBar bar = new ProgressBar(err, ProgressBar.isTerminal());
            Evaluator.Result r;
            try {
                r = Evaluator.evaluate(model, selection, size, batch, threads, bar::update);
            } finally {
                bar.finish();
            }
            int[][] confusion = r.metrics().confusionMatrix();
            Charts.confusionMatrix(png, confusion, r.classes(),
                    weights.getFileName() + " (" + model.architecture().id() + ")");
            if (json) {
                printJson(out, model, selection, size, r, png);
            } else {
                printText(out, selection, r, png);
            }
            // 1: evaluated, but some images were left out (listed); none usable is an error (2) from the Evaluator.
            return r.skipped().isEmpty() ? 0 : 1;
        }
    }

    /** The split the model's metadata records (a fine-tuned .safetensors), or null. */
    static DataSplit recordedSplit(Path weights) throws java.io.IOException {
        String name = weights.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".safetensors") ? DataSplit.fromMetadata(SafetensorsReader.metadata(weights)) : null;
    }

    /** How to choose other images than {@code s}. */
    static String hint(Evaluator.Selection s) {
        return switch (s.source()) {
            case RECORDED_SPLIT -> "; --all for every image";
            case ALL -> s.note() != null ? "; --val-fraction F [--seed S] for the validation part of a split" : "";
            default -> "";
        };
    }

    private static void printText(PrintWriter out, Evaluator.Selection selection, Evaluator.Result r, Path png) {
        String top5 = Double.isNaN(r.top5()) ? "" : String.format(Locale.ROOT, "top-5 %.2f %%   ", 100 * r.top5());
        out.printf(Locale.ROOT, "top-1 %.2f %%   %sloss %.4f   (%d images, %.1f img/s)%n",
                100 * r.top1(), top5, r.loss(), r.images(), r.imagesPerSecond());
        double[] perClass = r.metrics().perClassAccuracy();
        int[][] confusion = r.metrics().confusionMatrix();
        out.println();
        out.println("per-class accuracy:");
        int width = r.classes().stream().filter(selection.classes()::contains).mapToInt(String::length).max().orElse(5);
        for (int c = 0; c < r.classes().size(); c++) {
            long total = 0;
            for (int v : confusion[c]) {
                total += v;
            }
            if (total == 0 && !selection.classes().contains(r.classes().get(c))) {
                continue; // a model class the data does not have
            }
            out.printf(Locale.ROOT, "  %-" + width + "s  %6s  (%d/%d)%n", Terminal.safe(r.classes().get(c)),
                    Double.isNaN(perClass[c]) ? "-" : String.format(Locale.ROOT, "%.1f %%", 100 * perClass[c]),
                    confusion[c][c], total);
        }
        out.println();
        if (r.classes().size() <= MAX_TEXT_CLASSES) {
            out.println("confusion matrix (rows: true class, columns: predicted):");
            out.print(r.metrics().confusionText(r.classes().stream().map(Terminal::safe).toList()));
        } else {
            out.println("confusion matrix: " + r.classes().size() + " classes, too many for text (see the PNG or --json)");
        }
        out.println("confusion matrix PNG: " + png);
        printSkipped(out, r.skipped());
        out.flush();
    }

    private static void printSkipped(PrintWriter out, List<Skipped> skipped) {
        if (!skipped.isEmpty()) {
            out.println("skipped " + skipped.size() + " undecodable image" + (skipped.size() == 1 ? "" : "s") + ":");
            for (Skipped s : skipped) {
                out.println("  " + Terminal.safe(s.file() + ": " + s.reason()));
            }
        }
    }

    private static void printJson(PrintWriter out, ResNet model, Evaluator.Selection selection, int size,
                                  Evaluator.Result r, Path png) throws Exception {
        ObjectMapper mapper = Terminal.jsonMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("weights", model.weightsDescription());
        root.put("device", model.device().toString());
        root.put("data", selection.description());
        ObjectNode sel = root.putObject("selection");
        sel.put("source", selection.source().id());
        if (selection.valFraction() != null) {
            sel.put("val_fraction", selection.valFraction());
            sel.put("seed", selection.seed());
        } else {
            sel.putNull("val_fraction");
            sel.putNull("seed");
        }
        if (selection.note() != null) {
            sel.put("note", selection.note());
        } else {
            sel.putNull("note");
        }
        root.put("image_size", size);
        root.put("images", r.images());
        root.put("top1", r.top1());
        if (Double.isNaN(r.top5())) {
            root.putNull("top5"); // 5 classes or fewer: every image would be within the top 5
        } else {
            root.put("top5", r.top5());
        }
        root.put("loss", r.loss());
        ArrayNode classes = root.putArray("classes");
        double[] perClass = r.metrics().perClassAccuracy();
        int[][] confusion = r.metrics().confusionMatrix();
        for (int c = 0; c < r.classes().size(); c++) {
            ObjectNode o = classes.addObject();
            o.put("index", c);
            o.put("name", r.classes().get(c));
            long total = 0;
            for (int v : confusion[c]) {
                total += v;
            }
            o.put("images", total);
            if (Double.isNaN(perClass[c])) {
                o.putNull("accuracy");
            } else {
                o.put("accuracy", perClass[c]);
            }
        }
        ArrayNode rows = root.putArray("confusion");
        for (int[] row : confusion) {
            ArrayNode a = rows.addArray();
            for (int v : row) {
                a.add(v);
            }
        }
        root.put("confusion_png", png.toString());
        ArrayNode skipped = root.putArray("skipped");
        for (Skipped s : r.skipped()) {
            skipped.addObject().put("file", s.file().toString()).put("reason", s.reason());
        }
        out.println(mapper.writeValueAsString(root));
        out.flush();
    }
}
