package dev.jresnet.cli;

import dev.jresnet.io.AtomicFile;
import dev.jresnet.io.FileChecks;
import dev.jresnet.io.Limits;
import dev.jresnet.resnet.FeatureLayer;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code jresnet embed INPUT... --out FILE}: one feature vector per input, for transfer learning and search. Inputs are
 * read as {@code classify} reads them (images, folders walked in name order, .npy tensors) and streamed: every
 * {@code --batch} usable inputs are embedded and appended to temporary files, which are renamed into place only when
 * the run ends, so an interrupted or failed run leaves no partial file. A bad input is listed on stderr and skipped
 * (exit 1); when none can be embedded nothing is written (exit 2).
 */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = "Write feature vectors (embeddings) of images, folders of them or preprocessed .npy tensors "
                + "to one file: the pooled vector the classifier reads (2048 floats for resnet50), or an earlier "
                + "stage's output averaged over its positions.")
final class EmbedCommand implements Callable<Integer> {
    enum Format { npy, jsonl }

    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "INPUT", description = "Image files, .npy tensors, or folders (walked "
            + "recursively in name order; hidden files skipped).")
    List<Path> inputs;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The file to write. npy: a float32 "
            + "[N, D] array, row i the i-th input that could be embedded, and its paths in FILE without .npy + "
            + ".paths.txt, one per line. jsonl: one {\"path\": ..., \"embedding\": [...]} per line.")
    Path out;

    @Option(names = "--layer", paramLabel = "L", defaultValue = "pool", description = "pool (the classifier's input, "
            + "what torchvision's model with fc = Identity returns), or layer1, layer2, layer3, layer4: that stage's "
            + "[C, H, W] output averaged over H and W to C floats (layer4 is pool). Other than pool: CPU only. "
            + "Default: ${DEFAULT-VALUE}.")
    String layer;

    @Option(names = "--format", paramLabel = "F", description = "npy or jsonl. Default: jsonl when FILE ends with "
            + ".jsonl or .json, else npy.")
    Format format;

    @Mixin
    ModelOptions model;

    @Mixin
    DeviceOptions device;

    @Option(names = "--batch", defaultValue = "8", description = "Images per forward pass (1.."
            + ClassifyCommand.MAX_BATCH + "). Default: ${DEFAULT-VALUE}.")
    int batch;

    /** Thrown inside the atomic write when no input could be embedded: nothing is renamed into place. */
    private static final class NothingEmbedded extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NothingEmbedded() {
            super(null, null, false, false);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || batch > ClassifyCommand.MAX_BATCH) {
            throw new IllegalArgumentException("--batch must be in 1.." + ClassifyCommand.MAX_BATCH + ", got " + batch);
        }
        if (!Limits.FILES_PER_RUN.allows(inputs.size())) {
            throw new IllegalArgumentException(Limits.FILES_PER_RUN.exceeded("INPUT files", inputs.size()));
        }
        FeatureLayer at = parseLayer(layer);
        Format f = format != null ? format : formatOf(out);
        Path pathList = f == Format.npy ? pathsFile(out) : null;
        FileChecks.requireNotAnInput(out, "--out", inputs);
        FileChecks.requireNotAnInput(pathList, "the paths file", inputs);
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (ResNet net = model.build(err, device)) {
            if (net.cudaEngine().isPresent() && !at.isClassifierInput()) {
                throw new IllegalArgumentException("--layer " + at.id() + " runs on the CPU engine only, not on "
                        + net.device() + " (the CUDA engine gives --layer pool): add --device cpu");
            }
            int dim = net.featureSize(at);
            Embedder run = new Embedder(net, at, err);
            try {
                if (f == Format.npy) {
                    AtomicFile.write(out, array -> AtomicFile.write(pathList, list -> {
                        try (EmbeddingSink sink = new EmbeddingSink.Npy(array, list, dim)) {
                            run.all(sink);
                        }
                    }));
                } else {
                    AtomicFile.write(out, file -> {
                        try (EmbeddingSink sink = new EmbeddingSink.Jsonl(file)) {
                            run.all(sink);
                        }
                    });
                }
            } catch (NothingEmbedded e) {
                err.println("jresnet: no input could be embedded; nothing was written");
                err.flush();
                return 2;
            }
            int total = run.ok + run.failed;
            stdout.printf(Locale.ROOT, "wrote %d embedding%s of %d floats (%s %s) to %s%s%n", run.ok,
                    run.ok == 1 ? "" : "s", dim, net.architecture().id(), at.id(), Terminal.safe(out.toString()),
                    pathList != null ? ", their paths to " + Terminal.safe(pathList.toString()) : "");
            stdout.flush();
            if (run.failed > 0) {
                err.println("jresnet: " + run.failed + " of " + total + " inputs could not be embedded (listed above)");
            }
            err.flush();
            return run.failed == 0 ? 0 : 1;
        }
    }

    static FeatureLayer parseLayer(String id) {
        try {
            return FeatureLayer.fromId(id);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--layer: " + e.getMessage());
        }
    }

    static Format formatOf(Path file) {
        String name = String.valueOf(file.getFileName()).toLowerCase(Locale.ROOT);
        return name.endsWith(".jsonl") || name.endsWith(".json") ? Format.jsonl : Format.npy;
    }

    /** emb.npy: emb.paths.txt; a name without .npy gets .paths.txt appended. */
    static Path pathsFile(Path npy) {
        String name = npy.getFileName().toString();
        String stem = name.toLowerCase(Locale.ROOT).endsWith(".npy") ? name.substring(0, name.length() - 4) : name;
        return npy.resolveSibling(stem + ".paths.txt");
    }

    /** The walk over the inputs, batch by batch, with the counts and the progress line. */
    private final class Embedder {
        private final ResNet net;
        private final FeatureLayer layer;
        private final PrintWriter err;
        private final ProgressBar progress;
        private final long start = System.nanoTime();
        int ok;
        int failed;

        Embedder(ResNet net, FeatureLayer layer, PrintWriter err) {
            this.net = net;
            this.layer = layer;
            this.err = err;
            this.progress = new ProgressBar(err, ProgressBar.isTerminal());
            progress.start();
        }

        void all(EmbeddingSink sink) throws IOException {
            List<ClassifyCommand.Item> pending = new ArrayList<>();
            int usable = 0;
            for (InputWalk walk = new InputWalk(inputs); walk.hasNext(); ) {
                InputWalk.Input in = walk.next();
                List<ClassifyCommand.Item> items = in.error() != null
                        ? List.of(ClassifyCommand.Item.failed(in.path().toString(), in.error()))
                        : ClassifyCommand.read(net, in.path());
                for (ClassifyCommand.Item item : items) {
                    pending.add(item);
                    if (item.error() == null && ++usable == batch) {
                        flush(pending, sink);
                        usable = 0;
                    }
                }
            }
            flush(pending, sink);
            progress.finish();
            if (ok == 0) {
                throw new NothingEmbedded();
            }
            sink.finish();
        }

        /** Embeds the usable items of {@code pending}, writes them in order, lists the failed ones; empties it. */
        private void flush(List<ClassifyCommand.Item> pending, EmbeddingSink sink) throws IOException {
            List<ClassifyCommand.Item> usable = pending.stream().filter(i -> i.error() == null).toList();
            float[][] vectors = null;
            String batchError = null;
            if (!usable.isEmpty()) {
                try {
                    vectors = vectors(usable);
                } catch (RuntimeException | OutOfMemoryError e) {
                    batchError = "its batch failed: " + ClassifyCommand.reason(e, "");
                }
            }
            int r = 0;
            for (ClassifyCommand.Item item : pending) {
                String error = item.error();
                float[] v = null;
                if (error == null) {
                    v = vectors == null ? null : vectors[r];
                    r++;
                    error = v == null ? batchError : nonFinite(v);
                }
                if (error != null) {
                    progress.finish();
                    err.println("jresnet: cannot embed " + Terminal.safe(item.name()) + ": " + Terminal.safe(error));
                    failed++;
                } else {
                    sink.add(item.name(), v);
                    ok++;
                }
            }
            pending.clear();
            double seconds = (System.nanoTime() - start) / 1e9;
            progress.draw(String.format(Locale.ROOT, "embedded %d inputs (%d skipped)  %.1f img/s  %s elapsed", ok,
                    failed, ok / Math.max(seconds, 1e-9), ProgressBar.duration(seconds)), false);
            err.flush();
        }

        /** Features of usable items: crops (normalised on the GPU on CUDA), or a batch holding .npy tensors. */
        private float[][] vectors(List<ClassifyCommand.Item> items) {
            if (items.stream().allMatch(i -> i.crop() != null)) {
                return net.featuresOfCrops(items.stream().map(ClassifyCommand.Item::crop).toList(), layer);
            }
            int size = net.inputSize();
            int per = 3 * size * size;
            Tensor b = Tensor.zeros(items.size(), 3, size, size);
            for (int i = 0; i < items.size(); i++) {
                ClassifyCommand.Item item = items.get(i);
                Tensor chw = item.chw() != null ? item.chw() : net.preset().normalize(item.crop(), size);
                System.arraycopy(chw.data(), 0, b.data(), i * per, per);
            }
            return net.features(b, layer);
        }
    }

    /** Why a vector cannot be written ("not finite ..."), or null. */
    private static String nonFinite(float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                return "the features are not finite (" + v[i] + " at " + i + "): the weights overflow float32 on this "
                        + "input";
            }
        }
        return null;
    }
}
