package dev.jresnet.graph;

import dev.jresnet.nn.Linear;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.IncompatibleWeightsException;
import dev.jresnet.weights.WeightSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Moves tensors between weight files ({@link WeightSet}) and a {@link Network}, matched by torchvision name. */
public final class WeightBinding {
    /** How many differing tensors an error message names before it says "and N more". */
    static final int SHOWN = 4;
    /** torchvision's batch-norm step counter: in every state_dict, read by nothing. */
    static final String BN_COUNTER = ".num_batches_tracked";

    private WeightBinding() {}

    /**
     * Copies every tensor of {@code weights} into the network. All problems are collected first and reported in one
     * message: how many tensors are missing, unexpected, mis-shaped or non-float, and non-finite, naming the first few
     * of each; when the file fits another known architecture instead, the message says which.
     */
    public static void load(Network net, WeightSet weights) throws IncompatibleWeightsException {
        Map<String, WeightSet.Entry> remaining = new LinkedHashMap<>(weights.entries());
        List<String> missing = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        net.visitTensors((name, target, kind) -> {
            WeightSet.Entry e = remaining.remove(name);
            if (e == null) {
                missing.add(name + " " + target.shape());
                return;
            }
            Shape found = Shape.of(e.dims());
            if (e.floats() == null) {
                wrong.add(name + ": expected a floating-point tensor, found " + e.storedType());
            } else if (!found.equals(target.shape())) {
                wrong.add(name + ": expected " + target.shape() + ", found " + found);
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
            throw new IncompatibleWeightsException(misfit(weights, net.architecture(), wrong, missing, unexpected));
        }
    }

    /**
     * "FILE does not fit ARCH: 2 mismatched (...); 1 missing (...); 3 unexpected (...); the file holds resnet18 weights"
     * (the last part when the file fits another known architecture exactly).
     */
    static String misfit(WeightSet weights, Architecture a, List<String> wrong, List<String> missing,
                         List<String> unexpected) {
        StringBuilder sb = new StringBuilder(describe(weights) + " does not fit " + a.describe() + ":");
        list(sb, "mismatched", wrong);
        list(sb, "missing", missing);
        list(sb, "unexpected", unexpected);
        Architecture other = ArchitectureMatch.exact(weights);
        if (other != null && !other.id().equals(a.id())) {
            sb.append("; the file holds ").append(other.id()).append(" weights");
        }
        return sb.toString();
    }

    /** " 3 missing (a [1], b [2], ... and 1 more)" */
    static void list(StringBuilder sb, String what, List<String> items) {
        if (items.isEmpty()) {
            return;
        }
        sb.append(sb.charAt(sb.length() - 1) == ':' ? " " : "; ").append(items.size()).append(' ').append(what)
                .append(" (").append(String.join(", ", items.subList(0, Math.min(SHOWN, items.size()))));
        if (items.size() > SHOWN) {
            sb.append(", and ").append(items.size() - SHOWN).append(" more");
        }
        sb.append(')');
    }

    /**
     * The number of classes that {@code fc.weight} declares, or 1000 when the file has no fc: as the file says, not
     * yet bounded ({@link ArchitectureMatch#of(WeightSet, Architecture)} checks it before anything is built).
     */
    public static int classesOf(WeightSet weights) {
        WeightSet.Entry fc = weights.entries().get("fc.weight");
        return fc != null && fc.dims().length == 2 ? fc.dims()[0] : Architecture.IMAGENET_CLASSES;
    }

    /** The network's tensors as a WeightSet (torchvision's names and state_dict order, without counters). */
    public static WeightSet export(Network net, Map<String, String> metadata) {
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        net.visitTensors((name, t, kind) -> entries.put(name,
                new WeightSet.Entry(name, DataType.F32, t, null, t.shape().dims())));
        return new WeightSet(null, entries, metadata);
    }

    /**
     * torchvision's initialisation, made deterministic: Kaiming-normal (fan_out, ReLU gain) convolutions, batch norm
     * gamma 1 / beta 0 / mean 0 / var 1, and the classifier uniform in +-1/sqrt(fan_in).
     */
    public static void initialise(Network net, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        String fc = net.spec().classifier().name() + ".";
        double bound = 1.0 / Math.sqrt(net.spec().classifier().inFeatures());
        net.visitTensors((name, t, kind) -> {
            float[] d = t.data();
            if (name.startsWith(fc)) {
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
                Arrays.fill(d, v);
            }
        });
    }

    /**
     * torchvision's {@code nn.Linear.reset_parameters} for the classifier: kaiming_uniform(a=√5) for the weight,
     * whose bound gain·√(3/fan_in) with gain = √(2/(1+a²)) = √(1/3) is 1/√fan_in, and U(±1/√fan_in) for the bias.
     * The distribution is torch's; the random stream is Java's (SplittableRandom from {@code seed}), not torch's.
     */
    public static void initialiseLinear(Network net, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Linear fc = net.spec().classifier();
        double bound = 1.0 / Math.sqrt(fc.inFeatures());
        for (Tensor t : new Tensor[] {net.tensor(fc.weight()), net.tensor(fc.bias())}) {
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) {
                d[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
            }
        }
    }

    /** The tensor names of a network in state_dict order. */
    public static List<String> names(NetworkSpec spec) {
        List<String> names = new ArrayList<>();
        for (NetworkSpec.TensorSpec t : spec.tensors()) {
            names.add(t.name());
        }
        return names;
    }

    static String describe(WeightSet w) {
        return w.source() == null ? "the weights (in memory)" : w.source().toString();
    }
}
