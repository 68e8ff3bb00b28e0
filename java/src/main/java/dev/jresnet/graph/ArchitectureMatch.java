package dev.jresnet.graph;

import dev.jresnet.io.Limits;
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
 *
 * <p>Both {@code of} methods check every tensor's name and shape against the architecture, and the classifier's
 * classes against {@link Limits#CLASSES}, before they return it: the classes are the one size a {@link Network}
 * takes from the file, so a classifier declared {@code [1000000, 1]} is refused here, not after allocating a
 * 1000000 x 2048 one.
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
        return fitted(weights, a);
    }

    /**
     * {@code requested} with the classes of the file's classifier when it is given, else the file's own architecture
     * ({@link #of(WeightSet)}); without a file ({@code weights} null), {@code requested}, else resnet50.
     */
    public static Architecture of(WeightSet weights, Architecture requested) throws IncompatibleWeightsException {
        if (weights == null) {
            return requested != null ? requested : Architecture.RESNET50;
        }
        return requested != null ? fitted(weights, requested) : of(weights);
    }

    /**
     * {@code a} with the classes of the file's classifier, once the file's tensors have the names and shapes of
     * {@code a} (classes free, at most {@link Limits#CLASSES}, fc.bias as many as fc.weight); else the message
     * {@link WeightBinding#load} would give, without having built anything.
     */
    private static Architecture fitted(WeightSet weights, Architecture a) throws IncompatibleWeightsException {
        Differences d = differences(signature(a), shapes(weights));
        WeightSet.Entry fcw = weights.entries().get("fc.weight");
        WeightSet.Entry fcb = weights.entries().get("fc.bias");
        int classes = WeightBinding.classesOf(weights);
        if (fcw != null && fcb != null && fcw.dims().length == 2 && fcb.dims().length == 1
                && fcb.dims()[0] != fcw.dims()[0]) {
            d.mismatched().add("fc.bias: expected [" + fcw.dims()[0] + "] (as fc.weight), found "
                    + Shape.of(fcb.dims()));
        }
        if (d.total() > 0) {
            throw new IncompatibleWeightsException(WeightBinding.misfit(weights, a, d.mismatched(), d.missing(),
                    d.unexpected()));
        }
        if (!Limits.CLASSES.allows(classes)) {
            throw new IncompatibleWeightsException(Limits.CLASSES.exceeded(WeightBinding.describe(weights)
                    + ": tensor fc.weight " + Shape.of(fcw.dims()) + " classes", classes));
        }
        return a.withClasses(classes);
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
                mismatched.add(e.getKey() + ": expected " + withoutClasses(e.getKey(), e.getValue()) + ", found " + f);
            }
        }
        for (String k : found.keySet()) {
            if (!expected.containsKey(k)) {
                unexpected.add(k);
            }
        }
        return new Differences(mismatched, missing, unexpected);
    }

    /** "[classes, 2048]" for the classifier, whose class count is free; the shape otherwise. */
    private static String withoutClasses(String name, Shape expected) {
        if (name.equals("fc.weight")) {
            return "[classes, " + expected.dim(1) + "]";
        }
        return name.equals("fc.bias") ? "[classes]" : expected.toString();
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

    /** The tensors of {@code a} (any variant, 1000 classes): from the cache for a known architecture. */
    private static Map<String, Shape> signature(Architecture a) {
        Architecture key = a.withVariant(Variant.V1_5).withClasses(Architecture.IMAGENET_CLASSES);
        Map<String, Shape> known = signatures().get(key);
        return known != null ? known : shapes(key.spec());
    }

    private static Map<String, Shape> shapes(NetworkSpec spec) {
        Map<String, Shape> m = new LinkedHashMap<>();
        for (NetworkSpec.TensorSpec t : spec.tensors()) {
            m.put(t.name(), t.shape());
        }
        return m;
    }

    private static Map<Architecture, Map<String, Shape>> signatures() {
        Map<Architecture, Map<String, Shape>> s = signatures;
        if (s == null) {
            s = new LinkedHashMap<>();
            for (Architecture a : Architecture.KNOWN) {
                s.put(a, shapes(a.spec()));
            }
            signatures = s;
        }
        return s;
    }
}
