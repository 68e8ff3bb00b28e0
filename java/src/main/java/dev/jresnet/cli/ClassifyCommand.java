package dev.jresnet.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.jresnet.image.ImageDecodeException;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;
import dev.jresnet.io.FileChecks;
import dev.jresnet.io.Limits;
import dev.jresnet.resnet.Prediction;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code jresnet classify INPUT...}: top-K ImageNet (or fine-tuned) classes of images or .npy tensors.
 *
 * <p>Inputs are streamed: each image is cropped as soon as it is decoded (the full image is dropped at once), and
 * every {@code --batch} usable inputs are classified and printed, in input order, before more are read. So memory
 * holds one decoded image and one batch of crops (S x S x 3 bytes each), whatever the number or size of the
 * photos. A bad input (unreadable, not an image, NaN in a tensor, logits that overflow) gets one line naming it
 * and the reason; the others are classified. Exit status: 0 all classified, 1 some failed, 2 none could be.
 */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Classify images (PNG, JPEG, GIF, BMP, TIFF), folders of them, or preprocessed .npy tensors "
                + "([3,S,S] or [N,3,S,S] float32 or float64; S is 224, or the size a fine-tuned model was trained at).")
final class ClassifyCommand implements Callable<Integer> {
    /** Largest --batch: a batch holds this many [3,S,S] inputs (600 KB each at 224) and their activations. */
    static final int MAX_BATCH = 1024;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "INPUT", description = "Image files, .npy tensors, or folders (walked in name order; "
            + "hidden files skipped).")
    List<Path> inputs;

    @Mixin
    ModelOptions model;

    @Mixin
    DeviceOptions device;

    @Option(names = "--top", description = "Classes to print per input. Default: 5, or every class of a model with "
            + "fewer.")
    Integer top;

    @Option(names = "--json", description = "Print one JSON document instead of text.")
    boolean json;

    @Option(names = "--batch", defaultValue = "8", description = "Images per forward pass (1.." + MAX_BATCH
            + "). Default: ${DEFAULT-VALUE}.")
    int batch;

    /**
     * One thing to classify: a name and either the crop of its image (S x S, normalised by the model: on CUDA on the
     * GPU) or its preprocessed [3,S,S] tensor (from .npy), or the reason it cannot be classified. EmbedCommand reads
     * them too.
     */
    record Item(String name, RgbImage crop, Tensor chw, String error) {
        static Item failed(String name, String error) {
            return new Item(name, null, null, error);
        }

        Item withError(String reason) {
            return failed(name, reason);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || batch > MAX_BATCH) {
            throw new IllegalArgumentException("--batch must be in 1.." + MAX_BATCH + ", got " + batch);
        }
        if (!Limits.FILES_PER_RUN.allows(inputs.size())) {
            throw new IllegalArgumentException(Limits.FILES_PER_RUN.exceeded("INPUT files", inputs.size()));
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (ResNet net = model.build(err, device)) {
            if (top == null) {
                top = Math.min(5, net.architecture().numClasses());
            }
            if (top < 1 || top > net.architecture().numClasses()) {
                throw new IllegalArgumentException("--top must be in 1.." + net.architecture().numClasses() + ", got " + top);
            }
            Printer printer = json ? new JsonPrinter(out, net) : new TextPrinter(out);
            Counts counts = new Counts();
            List<Item> pending = new ArrayList<>();
            int usable = 0;
            for (InputWalk walk = new InputWalk(inputs); walk.hasNext(); ) {
                InputWalk.Input in = walk.next();
                List<Item> items = in.error() != null ? List.of(Item.failed(in.path().toString(), in.error()))
                        : read(net, in.path());
                for (Item item : items) {
                    pending.add(item);
                    if (item.error == null && ++usable == batch) {
                        flush(net, pending, printer, err, counts);
                        usable = 0;
                    }
                }
            }
            flush(net, pending, printer, err, counts);
            printer.finish();
            int total = counts.ok + counts.failed;
            if (counts.failed > 0) {
                err.println("jresnet: " + counts.failed + " of " + total + " inputs could not be classified");
            }
            err.flush();
            return counts.failed == 0 ? 0 : counts.ok > 0 ? 1 : 2;
        }
    }

    private static final class Counts {
        int ok;
        int failed;
    }

    /** Classifies the usable items of {@code pending}, prints every item in order, and empties it. */
    private void flush(ResNet net, List<Item> pending, Printer printer, PrintWriter err, Counts counts)
            throws IOException {
        List<Item> ok = new ArrayList<>(pending.stream().filter(i -> i.error == null).toList());
        List<List<Prediction>> results = new ArrayList<>();
        Tensor logits = null;
        if (!ok.isEmpty()) {
            try {
                logits = logits(net, ok);
            } catch (RuntimeException | OutOfMemoryError e) {
                // The batch failed as a whole (not one input's fault that we can tell): each of its inputs says why,
                // and the next batches still run.
                String why = "its batch failed: " + reason(e, "");
                ok.replaceAll(i -> i.withError(why));
                ok.forEach(i -> results.add(null));
            }
        }
        if (logits != null) {
            int classes = logits.dim(1);
            for (int i = 0; i < ok.size(); i++) {
                String bad = ResNet.nonFinite(logits, i);
                if (bad != null) {
                    results.add(null);
                    ok.set(i, ok.get(i).withError(bad));
                    continue;
                }
                Tensor row = new Tensor(Shape.of(1, classes), java.util.Arrays.copyOfRange(logits.data(),
                        i * classes, (i + 1) * classes));
                results.add(net.topK(row, top).get(0));
            }
        }
        int r = 0;
        for (Item item : pending) {
            List<Prediction> preds = null;
            if (item.error == null) {
                Item checked = ok.get(r);
                preds = results.get(r++);
                item = checked;
            }
            if (item.error != null) {
                err.println("jresnet: cannot classify " + Terminal.safe(item.name) + ": " + Terminal.safe(item.error));
                counts.failed++;
            } else {
                counts.ok++;
            }
            printer.item(item.name, preds, item.error);
        }
        err.flush();
        pending.clear();
    }

    /** Logits [n, classes] of usable items: crops normalised by the model (on the GPU on CUDA), or .npy tensors. */
    private static Tensor logits(ResNet net, List<Item> items) {
        if (items.stream().allMatch(i -> i.crop != null)) {
            return net.logitsOfCrops(items.stream().map(Item::crop).toList());
        }
        int size = net.inputSize();
        int per = 3 * size * size;
        Tensor b = Tensor.zeros(items.size(), 3, size, size);
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            Tensor chw = item.chw != null ? item.chw : net.preset().normalize(item.crop, size);
            System.arraycopy(chw.data(), 0, b.data(), i * per, per);
        }
        return net.forward(b);
    }

    /** Names of weights files: given as an INPUT, they are refused with the option that takes them. */
    private static final List<String> WEIGHTS_EXTENSIONS = List.of(".pth", ".pt", ".safetensors", ".onnx", ".ckpt",
            ".bin");

    /** The items of one input: one per image, one per [3,S,S] of a .npy; a failed one carries the reason. */
    static List<Item> read(ResNet net, Path p) {
        String name = p.toString();
        String fileName = p.getFileName() == null ? "" : p.getFileName().toString().toLowerCase(Locale.ROOT);
        int size = net.inputSize();
        try {
            if (fileName.endsWith(".npy")) {
                FileChecks.requireRegularFile(p, null);
                return slices(Npy.load(p), name, size);
            }
            // Decoded, cropped, and the full image dropped here: only the S x S crop outlives this call.
            return List.of(new Item(name, net.crop(ImageDecoder.decode(p)), null, null));
        } catch (ImageDecodeException e) {
            if (WEIGHTS_EXTENSIONS.stream().anyMatch(fileName::endsWith)) {
                return List.of(Item.failed(name, "a weights file, not an image or .npy tensor: give weights with "
                        + "--weights FILE"));
            }
            return List.of(Item.failed(name, e.reason()));
        } catch (Exception | OutOfMemoryError e) {
            return List.of(Item.failed(name, reason(e, name)));
        }
    }

    /** A .npy tensor as [3,S,S] items, each refused alone when it holds NaN or infinity. */
    private static List<Item> slices(Npy.Array array, String name, int size) {
        Tensor t = array.tensor();
        String problem = shapeProblem(t.shape().dims(), array.dtype(), size);
        if (problem != null) {
            return List.of(Item.failed(name, problem));
        }
        if (t.rank() == 3) {
            t = t.reshape(1, t.dim(0), t.dim(1), t.dim(2));
        }
        int n = t.dim(0);
        int per = 3 * size * size;
        List<Item> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String itemName = n == 1 ? name : name + "[" + i + "]";
            float[] chw = new float[per];
            System.arraycopy(t.data(), i * per, chw, 0, per);
            String bad = firstNonFinite(chw, size);
            list.add(bad != null ? Item.failed(itemName, bad)
                    : new Item(itemName, null, new Tensor(Shape.of(3, size, size), chw), null));
        }
        return list;
    }

    /**
     * Null when {@code dims} is [3,S,S] or [N,3,S,S], else what was expected, the shape and dtype given ("[224,224,3]
     * float64") and the likely fix: channels last needs a transpose, another size a resize, a lone batch of images
     * of another model's size the right preprocessing.
     */
    static String shapeProblem(int[] dims, String dtype, int size) {
        int r = dims.length;
        if ((r == 3 || r == 4) && dims[r - 3] == 3 && dims[r - 2] == size && dims[r - 1] == size) {
            return null;
        }
        StringBuilder given = new StringBuilder("[");
        for (int i = 0; i < r; i++) {
            given.append(i > 0 ? "," : "").append(dims[i]);
        }
        given.append("] ").append(dtype);
        String expected = "expected [3," + size + "," + size + "] or [N,3," + size + "," + size + "] (preprocessed, "
                + "channels first); got " + given;
        String fix;
        if ((r == 3 || r == 4) && dims[r - 1] == 3 && dims[r - 3] == size && dims[r - 2] == size) {
            fix = "channels last: transpose it, arr.transpose(" + (r == 3 ? "2, 0, 1" : "0, 3, 1, 2") + ")";
        } else if ((r == 3 || r == 4) && dims[r - 1] == 3) {
            fix = "channels last and " + dims[r - 3] + "x" + dims[r - 2] + ": resize and center-crop to " + size + "x"
                    + size + ", normalize, and transpose to channels first (or pass the image file itself)";
        } else if ((r == 3 || r == 4) && dims[r - 3] == 3) {
            fix = dims[r - 2] + "x" + dims[r - 1] + " instead of " + size + "x" + size + ": this model takes " + size
                    + " pixels; resize and center-crop to that (or pass the image file itself)";
        } else if (r == 5 && dims[0] == 1) {
            fix = "one axis too many: drop the leading 1, arr[0]";
        } else {
            fix = "pass the image file itself, or save the preprocessed tensor";
        }
        return expected + ": " + fix;
    }

    /** "holds NaN at [c,y,x]" for the first non-finite value of a [3,S,S] tensor, else null. */
    private static String firstNonFinite(float[] chw, int size) {
        for (int i = 0; i < chw.length; i++) {
            if (!Float.isFinite(chw[i])) {
                int plane = size * size;
                return "the tensor holds " + chw[i] + " at [" + i / plane + "," + (i % plane) / size + "," + i % size
                        + "]: inputs must be finite";
            }
        }
        return null;
    }

    /** The reason in one line without the file name the caller prints before it. */
    static String reason(Throwable e, String name) {
        String m;
        if (e instanceof NoSuchFileException nf && nf.getReason() == null) {
            m = "no such file";
        } else if (e instanceof FileSystemException fs && fs.getReason() != null) {
            m = fs.getReason();
        } else if (e instanceof OutOfMemoryError) {
            m = "not enough memory to read it (" + e.getMessage() + "); raise -Xmx (JRESNET_XMX)";
        } else {
            m = e.getMessage() != null ? e.getMessage() : e.toString();
        }
        while (m.startsWith(name + ": ")) {
            m = m.substring(name.length() + 2);
        }
        return m.replace('\n', ' ');
    }

    /** Where results go as they are made. */
    private interface Printer {
        void item(String name, List<Prediction> predictions, String error) throws IOException;

        void finish() throws IOException;
    }

    /** Per classified input: its name, then its top K (index, label, probability, logit). */
    private static final class TextPrinter implements Printer {
        private final PrintWriter out;

        TextPrinter(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void item(String name, List<Prediction> predictions, String error) {
            if (error != null) {
                return; // said once, on stderr ("jresnet: cannot classify NAME: REASON"); stdout holds the results
            }
            out.println(Terminal.safe(name));
            for (Prediction p : predictions) {
                out.printf(Locale.ROOT, "  %4d  %-40s  p=%.4f  logit=%8.3f%n", p.index(),
                        truncate(Terminal.safe(p.label()), 40), p.probability(), p.logit());
            }
            out.flush();
        }

        @Override
        public void finish() {
            out.flush();
        }

        private static String truncate(String s, int n) {
            return s.length() <= n ? s : s.substring(0, n - 1) + "…";
        }
    }

    /** One JSON document, written as results come: the header fields, then "results" one object per input. */
    private static final class JsonPrinter implements Printer {
        private final JsonGenerator g;

        JsonPrinter(PrintWriter out, ResNet net) throws IOException {
            g = Terminal.jsonMapper().getFactory().createGenerator(out);
            g.useDefaultPrettyPrinter();
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.writeStartObject();
            g.writeStringField("device", net.device().toString());
            g.writeStringField("device_detail", net.deviceDescription());
            g.writeStringField("precision", net.precision().id());
            g.writeStringField("architecture", net.architecture().id());
            g.writeStringField("variant", net.architecture().variant().id());
            g.writeStringField("weights", net.weightsDescription());
            g.writeBooleanField("pretrained", net.isPretrained());
            g.writeArrayFieldStart("results");
        }

        @Override
        public void item(String name, List<Prediction> predictions, String error) throws IOException {
            g.writeStartObject();
            g.writeStringField("input", name);
            if (error != null) {
                g.writeStringField("error", error);
            } else {
                writeTop(g, predictions);
            }
            g.writeEndObject();
            g.flush();
        }

        @Override
        public void finish() throws IOException {
            g.writeEndArray();
            g.writeEndObject();
            g.writeRaw('\n');
            g.close();
        }
    }

    /** The "top" array of {@code classify --json} (also {@code jresnet serve}'s /v1/classify): index, label, p, logit. */
    static void writeTop(JsonGenerator g, List<Prediction> predictions) throws IOException {
        g.writeArrayFieldStart("top");
        for (Prediction p : predictions) {
            g.writeStartObject();
            g.writeNumberField("index", p.index());
            g.writeStringField("label", p.label());
            g.writeNumberField("probability", p.probability());
            g.writeNumberField("logit", p.logit());
            g.writeEndObject();
        }
        g.writeEndArray();
    }
}
