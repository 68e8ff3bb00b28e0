package dev.jresnet.resnet;

import dev.jresnet.nn.TensorVisitor;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.WeightSet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Moves tensors between weight files ({@link WeightSet}) and the graph, matched by torchvision name. */
public final class WeightBinding {
    private static final String BN_COUNTER = ".num_batches_tracked";

    private WeightBinding() {}

    /**
     * Copies every tensor of {@code weights} into the graph. All problems are collected first and
     * reported together: missing keys, unexpected keys, shape mismatches, non-float tensors, NaN/Inf.
     */
    public static void load(ResNet50Graph graph, WeightSet weights) throws IncompatibleWeightsException {
        Map<String, WeightSet.Entry> remaining = new LinkedHashMap<>(weights.entries());
        List<String> missing = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        graph.visitTensors((name, target, kind) -> {
            WeightSet.Entry e = remaining.remove(name);
            if (e == null) {
                missing.add(name + " " + target.shape());
                return;
            }
            Shape found = Shape.of(e.dims());
            if (e.floats() == null) {
                wrong.add(name + ": expected a floating-point tensor, found " + e.storedType());
            } else if (!found.equals(target.shape())) {
                wrong.add(name + ": expected shape " + target.shape() + ", found " + found);
            } else {
                float[] src = e.floats().data();
                for (int i = 0; i < src.length; i++) {
                    if (!Float.isFinite(src[i])) {
                        wrong.add(name + " " + found + ": holds " + src[i] + " at flat index " + i);
                        return;
                    }
                }
                System.arraycopy(src, 0, target.data(), 0, src.length);
            }
        });
        List<String> unexpected = new ArrayList<>();
        for (String k : remaining.keySet()) {
            if (!k.endsWith(BN_COUNTER)) {
                unexpected.add(k);
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !wrong.isEmpty()) {
            StringBuilder sb = new StringBuilder("weights " + describe(weights) + " do not fit ResNet-50 ("
                    + graph.config.variant().id() + ", " + graph.config.numClasses() + " classes):");
            if (!wrong.isEmpty()) {
                sb.append("\n  mismatched (").append(wrong.size()).append("): ").append(String.join("; ", wrong));
            }
            if (!missing.isEmpty()) {
                sb.append("\n  missing keys (").append(missing.size()).append("): ").append(String.join(", ", missing));
            }
            if (!unexpected.isEmpty()) {
                sb.append("\n  unexpected keys (").append(unexpected.size()).append("): ")
                        .append(String.join(", ", unexpected));
            }
            throw new IncompatibleWeightsException(sb.toString());
        }
    }

    /** The number of classes that {@code fc.weight} implies, or 1000 when the file has no fc. */
    public static int classesOf(WeightSet weights) {
        WeightSet.Entry fc = weights.entries().get("fc.weight");
        return fc != null && fc.dims().length == 2 ? fc.dims()[0] : ResNet50Config.IMAGENET_CLASSES;
    }

    /** The graph's tensors as a WeightSet (same names and order as torchvision's state_dict, without counters). */
    public static WeightSet export(ResNet50Graph graph, Map<String, String> metadata) {
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        graph.visitTensors((name, t, kind) -> entries.put(name,
                new WeightSet.Entry(name, DataType.F32, t, null, t.shape().dims())));
        return new WeightSet(null, entries, metadata);
    }

    /**
     * torchvision's initialisation, made deterministic: Kaiming-normal (fan_out, ReLU gain) convolutions,
     * BatchNorm gamma 1 / beta 0 / mean 0 / var 1, and Linear uniform in +-1/sqrt(fan_in).
     */
    public static void initialise(ResNet50Graph graph, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        graph.visitTensors((name, t, kind) -> {
            float[] d = t.data();
            if (name.startsWith("fc.")) {
                double bound = 1.0 / Math.sqrt(ResNet50Config.FEATURES);
                for (int i = 0; i < d.length; i++) {
                    d[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
                }
            } else if (t.rank() == 4) {
                int fanOut = t.dim(0) * t.dim(2) * t.dim(3);
                double std = Math.sqrt(2.0 / fanOut);
                for (int i = 0; i < d.length; i++) {
                    d[i] = (float) (rnd.nextGaussian() * std);
                }
            } else {
                float v = name.endsWith(".weight") || name.endsWith(".running_var") ? 1f : 0f;
                java.util.Arrays.fill(d, v);
            }
        });
    }

    private static String describe(WeightSet w) {
        return w.source() == null ? "(in memory)" : w.source().toString();
    }

    /** Used by tests and tools: a visitor that records names with shapes in order. */
    public static List<String> names(ResNet50Graph graph) {
        List<String> names = new ArrayList<>();
        graph.visitTensors((name, t, kind) -> names.add(name));
        return names;
    }

}
