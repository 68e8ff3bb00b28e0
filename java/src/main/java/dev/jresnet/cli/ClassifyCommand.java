package dev.jresnet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;
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

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code jresnet classify INPUT...}: top-K ImageNet (or fine-tuned) classes of images or .npy tensors. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Classify images (PNG, JPEG) or preprocessed .npy tensors ([3,S,S] or [N,3,S,S] float32; S is "
                + "224, or the size a fine-tuned model was trained at).")
final class ClassifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "INPUT", description = "Image files or .npy tensors.")
    List<Path> inputs;

    @Mixin
    ModelOptions model;

    @Option(names = "--top", description = "Classes to print per input. Default: 5, or every class of a model with "
            + "fewer.")
    Integer top;

    @Option(names = "--json", description = "Print one JSON document instead of text.")
    boolean json;

    @Option(names = "--batch", defaultValue = "8", description = "Images per forward pass. Default: ${DEFAULT-VALUE}.")
    int batch;

    /**
     * One thing to classify: a name and its decoded image (preprocessed by the model: on CUDA on the GPU) or its
     * preprocessed [3,H,W] tensor (from .npy), or the reason it could not be read.
     */
    private record Item(String name, Tensor chw, RgbImage image, String error) {
        Item(String name, Tensor chw, String error) {
            this(name, chw, null, error);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (ResNet net = model.build(err)) {
            if (top == null) {
                top = Math.min(5, net.architecture().numClasses());
            }
            if (top < 1 || top > net.architecture().numClasses()) {
                throw new IllegalArgumentException("--top must be in 1.." + net.architecture().numClasses() + ", got " + top);
            }
            List<Item> items = new ArrayList<>();
            for (Path p : inputs) {
                items.addAll(read(net, p));
            }
            List<List<Prediction>> results = classifyAll(net, items);
            if (json) {
                printJson(out, net, items, results);
            } else {
                printText(out, items, results);
            }
            long failed = 0;
            for (Item i : items) {
                if (i.error != null) {
                    err.println("jresnet: cannot classify " + i.name + ": " + i.error);
                    failed++;
                }
            }
            if (failed > 0) {
                err.println("jresnet: " + failed + " of " + items.size() + " inputs could not be classified");
            }
            return failed > 0 ? 1 : 0;
        }
    }

    private static List<Item> read(ResNet net, Path p) {
        int size = net.inputSize();
        try {
            if (p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy")) {
                Tensor t = Npy.read(p);
                if (t.rank() == 3) {
                    t = t.reshape(1, t.dim(0), t.dim(1), t.dim(2));
                }
                if (t.rank() != 4 || t.dim(1) != 3 || t.dim(2) != size || t.dim(3) != size) {
                    return List.of(new Item(p.toString(), null, "expected a float32 tensor [3," + size + "," + size
                            + "] or [N,3," + size + "," + size + "], found " + t.shape()));
                }
                int n = t.dim(0);
                int per = 3 * size * size;
                List<Item> list = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    float[] chw = new float[per];
                    System.arraycopy(t.data(), i * per, chw, 0, per);
                    list.add(new Item(n == 1 && t.rank() == 4 ? p.toString() : p + "[" + i + "]",
                            new Tensor(Shape.of(3, size, size), chw), null));
                }
                return list;
            }
            return List.of(new Item(p.toString(), null, ImageDecoder.decode(p), null));
        } catch (Exception e) {
            return List.of(new Item(p.toString(), null, e.getMessage() != null ? e.getMessage() : e.toString()));
        }
    }

    private List<List<Prediction>> classifyAll(ResNet net, List<Item> items) {
        List<Item> ok = items.stream().filter(i -> i.error == null).toList();
        List<List<Prediction>> results = new ArrayList<>();
        for (int start = 0; start < ok.size(); start += batch) {
            int n = Math.min(batch, ok.size() - start);
            List<Item> chunk = ok.subList(start, start + n);
            if (chunk.stream().allMatch(i -> i.image != null)) {
                results.addAll(net.classify(chunk.stream().map(i -> i.image).toList(), top));
                continue;
            }
            List<Tensor> tensors = chunk.stream().map(i -> i.chw != null ? i.chw : net.preprocess(i.image)).toList();
            int per = tensors.get(0).size();
            Tensor b = Tensor.zeros(n, 3, tensors.get(0).dim(1), tensors.get(0).dim(2));
            for (int i = 0; i < n; i++) {
                System.arraycopy(tensors.get(i).data(), 0, b.data(), i * per, per);
            }
            results.addAll(net.topK(net.forward(b), top));
        }
        return results;
    }

    private static void printText(PrintWriter out, List<Item> items, List<List<Prediction>> results) {
        int r = 0;
        for (Item item : items) {
            out.println(item.name);
            if (item.error != null) {
                out.println("  error: " + item.error);
                continue;
            }
            for (Prediction p : results.get(r++)) {
                out.printf(Locale.ROOT, "  %4d  %-40s  p=%.4f  logit=%8.3f%n", p.index(), truncate(p.label(), 40),
                        p.probability(), p.logit());
            }
        }
        out.flush();
    }

    private static String truncate(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "…";
    }

    private static void printJson(PrintWriter out, ResNet net, List<Item> items, List<List<Prediction>> results)
            throws Exception {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        root.put("device", net.device().toString());
        root.put("device_detail", net.deviceDescription());
        root.put("precision", net.precision().id());
        root.put("architecture", net.architecture().id());
        root.put("variant", net.architecture().variant().id());
        root.put("weights", net.weightsDescription());
        root.put("pretrained", net.isPretrained());
        ArrayNode arr = root.putArray("results");
        int r = 0;
        for (Item item : items) {
            ObjectNode o = arr.addObject();
            o.put("input", item.name);
            if (item.error != null) {
                o.put("error", item.error);
                continue;
            }
            ArrayNode topArr = o.putArray("top");
            for (Prediction p : results.get(r++)) {
                ObjectNode t = topArr.addObject();
                t.put("index", p.index());
                t.put("label", p.label());
                t.put("probability", p.probability());
                t.put("logit", p.logit());
            }
        }
        out.println(mapper.writeValueAsString(root));
        out.flush();
    }
}
