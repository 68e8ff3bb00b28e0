package dev.jresnet.graph;

import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.tensor.Shape;
import dev.jresnet.weights.IncompatibleWeightsException;
import dev.jresnet.weights.WeightSet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which architecture a weight file holds: the one its metadata names ({@value #META_ARCHITECTURE}), else the known
 * architecture whose tensor names and shapes it matches exactly (the classifier may have any number of classes).
 * A file that matches none is refused in one message naming the closest architecture and its first differences.
 */
public final class ArchitectureMatch {
    /** The metadata key naming the architecture (written by jresnet's converters and trainers). */
    public static final String META_ARCHITECTURE = "jresnet.architecture";
    /** The metadata key naming the variant (v1 or v1.5). */
    public static final String META_VARIANT = "jresnet.variant";

    private static volatile Map<Architecture, Map<String, Shape>> signatures;

    private ArchitectureMatch() {}

    /**
     * The architecture of {@code weights}, with the variant from its metadata (default v1.5) and the classes of its
     * classifier. Throws naming the file when the metadata names an unknown architecture or variant, or when no
     * known architecture fits and there is no metadata.
     */
    public static Architecture of(WeightSet weights) throws IncompatibleWeightsException {
        Map<String, String> meta = weights.metadata();
        Architecture a;
        if (meta.containsKey(META_ARCHITECTURE)) {
            try {
                a = Architecture.of(meta.get(META_ARCHITECTURE));
            } catch (IllegalArgumentException e) {
                throw new IncompatibleWeightsException(WeightBinding.describe(weights) + ": metadata "
                        + META_ARCHITECTURE + " says " + e.getMessage());
            }
        } else {
            a = exact(weights);
            if (a == null) {
                throw new IncompatibleWeightsException(noMatch(weights));
            }
        }
        if (meta.containsKey(META_VARIANT)) {
            try {
                a = a.withVariant(Variant.fromId(meta.get(META_VARIANT)));
            } catch (IllegalArgumentException e) {
                throw new IncompatibleWeightsException(WeightBinding.describe(weights) + ": metadata " + META_VARIANT
                        + " says " + e.getMessage());
            }
        }
        return a.withClasses(WeightBinding.classesOf(weights));
    }

    /**
     * {@code requested} with the classes of the file's classifier when it is given, else the file's own architecture
     * ({@link #of(WeightSet)}); without a file ({@code weights} null), {@code requested}, else resnet50.
     */
    public static Architecture of(WeightSet weights, Architecture requested) throws IncompatibleWeightsException {
        if (weights == null) {
            return requested != null ? requested : Architecture.RESNET50;
        }
        return requested != null ? requested.withClasses(WeightBinding.classesOf(weights)) : of(weights);
    }

    /** The metadata that names {@code a} in a file jresnet writes (what {@link #of(WeightSet)} reads first). */
    public static Map<String, String> metadata(Architecture a) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(META_ARCHITECTURE, a.id());
        m.put(META_VARIANT, a.variant().id());
        return m;
    }

    /** The known architecture (v1.5) whose tensors {@code weights} holds exactly, or null. */
    public static Architecture exact(WeightSet weights) {
        Map<String, Shape> found = shapes(weights);
        for (Map.Entry<Architecture, Map<String, Shape>> e : signatures().entrySet()) {
            if (differences(e.getValue(), found).total() == 0) {
                return e.getKey().withClasses(WeightBinding.classesOf(weights));
            }
        }
        return null;
    }

    private record Differences(List<String> mismatched, List<String> missing, List<String> unexpected) {
        int total() {
            return mismatched.size() + missing.size() + unexpected.size();
        }
    }

    /** "X.pth matches no known architecture; closest is resnet50: 2 mismatched (...), 1 missing (...)". */
    static String noMatch(WeightSet weights) {
        Map<String, Shape> found = shapes(weights);
        Architecture best = null;
        Differences bestD = null;
        for (Map.Entry<Architecture, Map<String, Shape>> e : signatures().entrySet()) {
            Differences d = differences(e.getValue(), found);
            if (bestD == null || d.total() < bestD.total()) {
                best = e.getKey();
                bestD = d;
            }
        }
        StringBuilder sb = new StringBuilder(WeightBinding.describe(weights) + " matches no known architecture ("
                + Architecture.ids() + "); closest is " + best.id() + ":");
        WeightBinding.list(sb, "mismatched", bestD.mismatched());
        WeightBinding.list(sb, "missing", bestD.missing());
        WeightBinding.list(sb, "unexpected", bestD.unexpected());
        return sb.toString();
    }

    /** Differences of a file against an architecture's tensors; the classifier's class count is free. */
    private static Differences differences(Map<String, Shape> expected, Map<String, Shape> found) {
        List<String> mismatched = new ArrayList<>(), missing = new ArrayList<>(), unexpected = new ArrayList<>();
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            Shape f = found.get(e.getKey());
            if (f == null) {
                missing.add(e.getKey() + " " + e.getValue());
            } else if (!sameBesidesClasses(e.getKey(), e.getValue(), f)) {
                mismatched.add(e.getKey() + ": expected " + e.getValue() + ", found " + f);
            }
        }
        for (String k : found.keySet()) {
            if (!expected.containsKey(k)) {
                unexpected.add(k);
            }
        }
        return new Differences(mismatched, missing, unexpected);
    }

    private static boolean sameBesidesClasses(String name, Shape expected, Shape found) {
        if (name.equals("fc.weight")) {
            return found.rank() == 2 && found.dim(1) == expected.dim(1);
        }
        if (name.equals("fc.bias")) {
            return found.rank() == 1;
        }
        return expected.equals(found);
    }

    private static Map<String, Shape> shapes(WeightSet weights) {
        Map<String, Shape> m = new LinkedHashMap<>();
        weights.entries().forEach((name, e) -> {
            if (!name.endsWith(WeightBinding.BN_COUNTER)) {
                m.put(name, Shape.of(e.dims()));
            }
        });
        return m;
    }

    private static Map<Architecture, Map<String, Shape>> signatures() {
        Map<Architecture, Map<String, Shape>> s = signatures;
        if (s == null) {
            s = new LinkedHashMap<>();
            for (Architecture a : Architecture.KNOWN) {
                Map<String, Shape> m = new LinkedHashMap<>();
                for (NetworkSpec.TensorSpec t : a.spec().tensors()) {
                    m.put(t.name(), t.shape());
                }
                s.put(a, m);
            }
            signatures = s;
        }
        return s;
    }
}
