package dev.jresnet.onnx;

import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.ArchitectureMatch;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.Variant;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.image.Preset;
import dev.jresnet.io.FileChecks;
import dev.jresnet.io.Limits;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.Linear;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.WeightSet;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the weights of a ResNet-family network from an ONNX file: jresnet's own export, or a torchvision model
 * exported by {@code torch.onnx.export}, which usually folds each batch norm into its convolution's weight and bias.
 * The graph is matched structurally against the descriptions of the known architectures: the k-th Conv node is the
 * k-th convolution of the description (torchvision's forward order), with its weight shape, stride and group count,
 * and the Gemm (or MatMul+Add) is fc. The architecture is the metadata's ({@code jresnet.architecture}) or the one
 * whose convolutions match; v1 or v1.5 is read from the strides. Folded convolutions get an identity batch norm
 * (gamma 1, beta = conv bias, mean 0, var 1 - eps).
 */
public final class OnnxImporter {
    /** A NodeProto: {@code index} is its place in the graph, for naming a node without a name. */
    private record Node(int index, String name, String op, List<String> inputs, List<String> outputs,
                        Map<String, ProtoReader.Field> attrs, Map<String, List<Long>> ints) {
        @Override
        public String toString() {
            return "node " + (name == null || name.isEmpty() ? "#" + index : "\"" + name + "\"") + " (" + op + ")";
        }
    }

    private static final long FLOAT_TYPE = 1;

    private final Path file;
    private final Map<String, Tensor> initializers = new HashMap<>();
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    /** Nodes, attributes, initializers and listed integers kept so far, against {@link Limits#GRAPH_ITEMS}. */
    private long items;
    /** Bytes of names and metadata kept so far, against {@link Limits#HEADER_BYTES} (the protobuf outside tensors). */
    private long stringBytes;

    private OnnxImporter(Path file) {
        this.file = file;
    }

    /**
     * The ONNX file's weights under torchvision names, with the variant and metadata jresnet understands. Throws
     * {@link OnnxFormatException} naming the file (and the node or initializer) when the file is not ONNX, is
     * truncated or changes while it is read, claims more than it holds or than {@link Limits} allow, or holds a graph
     * that is not a ResNet of the family; an IOException naming the file when it is not a readable regular file.
     */
    public static WeightSet read(Path file) throws IOException {
        return read(file, () -> { });
    }

    /**
     * {@link #read(Path)}, running {@code afterOpen} once the file is open and its size taken: the seam through which
     * a test shrinks the file while it is being read.
     */
    static WeightSet read(Path file, Runnable afterOpen) throws IOException {
        FileChecks.requireRegularFile(file, null);
        OnnxImporter im = new OnnxImporter(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new OnnxFormatException(file + ": ONNX files over 2 GiB (external data) are not supported");
            }
            afterOpen.run();
            im.parseModel(ProtoReader.of(new ProtoReader.Source(file, ch, size), file + " (ModelProto)"));
        }
        return im.toWeights();
    }

    /** Counts {@code n} more items kept from the file, refusing more than {@link Limits#GRAPH_ITEMS}. */
    private void keep(long n, String what) throws OnnxFormatException {
        items += n;
        if (!Limits.GRAPH_ITEMS.allows(items)) {
            throw new OnnxFormatException(Limits.GRAPH_ITEMS.exceeded(file + ": graph items (nodes, attributes, "
                    + "initializers, listed integers) at " + what, items));
        }
    }

    /** A string field kept (a name, an op type, metadata), counted against {@link Limits#HEADER_BYTES}. */
    private String string(ProtoReader.Field f) throws IOException {
        stringBytes += f.delimited() ? f.value() : 0; // else f.string() throws naming the wire type
        if (!Limits.HEADER_BYTES.allows(stringBytes)) {
            throw new OnnxFormatException(Limits.HEADER_BYTES.exceeded(file + ": bytes of names and metadata",
                    stringBytes));
        }
        return f.string();
    }

    private void parseModel(ProtoReader model) throws IOException {
        boolean sawGraph = false;
        for (ProtoReader.Field f; (f = model.next()) != null; ) {
            if (f.number() == 7 && f.delimited()) {
                parseGraph(f.message(file + " (GraphProto)"));
                sawGraph = true;
            } else if (f.number() == 14 && f.delimited()) {
                keep(1, "metadata_props");
                ProtoReader m = f.message(file + " (metadata_props)");
                String k = null, v = null;
                for (ProtoReader.Field e; (e = m.next()) != null; ) {
                    if (e.number() == 1) {
                        k = string(e);
                    } else if (e.number() == 2) {
                        v = string(e);
                    }
                }
                if (k != null && v != null) {
                    metadata.put(k, v);
                }
            }
        }
        if (!sawGraph) {
            throw new OnnxFormatException(file + ": not an ONNX model (no graph found)");
        }
    }

    private void parseGraph(ProtoReader g) throws IOException {
        int tensors = 0;
        for (ProtoReader.Field f; (f = g.next()) != null; ) {
            if (!f.delimited()) {
                continue;
            }
            if (f.number() == 1) {
                keep(1, "node " + nodes.size());
                nodes.add(parseNode(f.message(file + " (NodeProto " + nodes.size() + ")"), nodes.size()));
            } else if (f.number() == 5) {
                keep(1, "initializer " + tensors);
                parseInitializer(f.message(file + " (TensorProto " + tensors++ + ")"));
            }
        }
    }

    private Node parseNode(ProtoReader r, int index) throws IOException {
        String op = null, name = null;
        List<String> in = new ArrayList<>(), out = new ArrayList<>();
        Map<String, ProtoReader.Field> attrs = new HashMap<>();
        Map<String, List<Long>> ints = new HashMap<>();
        for (ProtoReader.Field f; (f = r.next()) != null; ) {
            switch (f.number()) {
                case 1 -> {
                    keep(1, "node " + index + " inputs");
                    in.add(string(f));
                }
                case 2 -> {
                    keep(1, "node " + index + " outputs");
                    out.add(string(f));
                }
                case 3 -> name = string(f);
                case 4 -> op = string(f);
                case 5 -> {
                    keep(1, "node " + index + " attributes");
                    String attr = null;
                    ProtoReader.Field value = null;
                    List<Long> list = new ArrayList<>();
                    ProtoReader a = f.message(file + " (AttributeProto of node " + index + ")");
                    for (ProtoReader.Field af; (af = a.next()) != null; ) {
                        if (af.number() == 1) {
                            attr = string(af);
                        } else if (af.number() == 2 || af.number() == 3) {
                            value = af;
                        } else if (af.number() == 8) {
                            ProtoReader.int64s(af, v -> {
                                keep(1, "node " + index + " attribute ints");
                                list.add(v);
                            });
                        }
                    }
                    if (attr != null) {
                        if (value != null) {
                            attrs.put(attr, value);
                        }
                        ints.put(attr, list);
                    }
                }
                default -> { }
            }
        }
        if (op == null) {
            throw new OnnxFormatException(file + ": node " + (name == null ? "#" + index : "\"" + name + "\"")
                    + " has no op_type");
        }
        return new Node(index, name, op, in, out, attrs, ints);
    }

    /**
     * A float initializer: dims, then raw_data or float_data, checked against each other and against
     * {@link Limits#TENSOR_ELEMENTS} before the tensor is allocated. Other types (shape constants) are skipped.
     */
    private void parseInitializer(ProtoReader r) throws IOException {
        List<Long> dims = new ArrayList<>();
        long type = FLOAT_TYPE;
        String name = null;
        ProtoReader.Field raw = null;
        long floatCount = 0; // float_data values, packed or not
        boolean external = false;
        for (ProtoReader.Field f; (f = r.next()) != null; ) {
            switch (f.number()) {
                case 1 -> {
                    ProtoReader.int64s(f, v -> {
                        keep(1, "initializer dims");
                        dims.add(v);
                    });
                }
                case 2 -> type = f.value();
                case 8 -> name = string(f);
                case 9 -> raw = f;
                case 4 -> floatCount += f.wireType() == 5 ? 1 : f.delimited() ? f.value() / 4 : 0;
                case 14 -> external |= f.value() == 1;
                default -> { }
            }
        }
        String at = file + ": initializer \"" + name + "\"";
        if (external) {
            throw new OnnxFormatException(at + " uses external data, which is not supported");
        }
        if (name == null || type != FLOAT_TYPE) {
            return; // integer shape constants and the like are not weights
        }
        if (dims.isEmpty() || dims.stream().anyMatch(x -> x <= 0 || x > Integer.MAX_VALUE)) {
            return; // scalars (and empty tensors) are graph constants, not ResNet weights
        }
        long count = 1;
        for (long d : dims) {
            count = Math.multiplyHigh(count, d) != 0 || count * d < 0 ? Long.MAX_VALUE : count * d;
        }
        if (!Limits.TENSOR_ELEMENTS.allows(count)) {
            throw new OnnxFormatException(Limits.TENSOR_ELEMENTS.exceeded(at + " " + dims + " elements",
                    count));
        }
        if (raw != null && raw.value() != count * 4) {
            throw new OnnxFormatException(at + " " + dims + " needs " + count * 4 + " bytes of raw_data, found "
                    + raw.value());
        }
        if (raw == null && floatCount != count) {
            throw new OnnxFormatException(at + " " + dims + " holds " + floatCount + " float_data values, expected "
                    + count);
        }
        int[] d = dims.stream().mapToInt(Long::intValue).toArray();
        float[] data = new float[(int) count];
        if (raw != null) {
            raw.floats(data, 0, at + " raw_data");
        } else {
            int k = 0;
            ProtoReader again = r.again();
            for (ProtoReader.Field f; (f = again.next()) != null; ) {
                if (f.number() != 4) {
                    continue;
                }
                if (f.wireType() == 5) {
                    data[k++] = f.float32();
                } else if (f.delimited()) {
                    if (f.value() % 4 != 0) {
                        throw new OnnxFormatException(at + ": packed float_data of " + f.value()
                                + " bytes, not a multiple of 4");
                    }
                    f.floats(data, k, at + " float_data");
                    k += (int) (f.value() / 4);
                }
            }
        }
        initializers.put(name, new Tensor(Shape.of(d), data));
    }

    /** Input {@code i} of {@code n}, which the importer needs as {@code role}; throws naming both when it is absent. */
    private String input(Node n, int i, String role) throws OnnxFormatException {
        if (i >= n.inputs.size() || n.inputs.get(i).isEmpty()) {
            throw new OnnxFormatException(file + ": " + n + " has no input " + i + " (" + role + "); it lists "
                    + n.inputs.size() + " input" + (n.inputs.size() == 1 ? "" : "s") + " " + n.inputs);
        }
        return n.inputs.get(i);
    }

    private String output(Node n) throws OnnxFormatException {
        if (n.outputs.isEmpty() || n.outputs.get(0).isEmpty()) {
            throw new OnnxFormatException(file + ": " + n + " has no output");
        }
        return n.outputs.get(0);
    }

    /** The float initializer that is input {@code i} of {@code n} (its {@code role}). */
    private Tensor init(Node n, int i, String role) throws OnnxFormatException {
        String name = input(n, i, role);
        Tensor t = initializers.get(name);
        if (t == null) {
            throw new OnnxFormatException(file + ": " + n + " input " + i + " (" + role + ") \"" + name
                    + "\" is not a float initializer");
        }
        return t;
    }

    /** {@link #init}, required to be a vector of {@code length} (a per-channel or per-class parameter). */
    private Tensor vector(Node n, int i, String role, int length) throws OnnxFormatException {
        Tensor t = init(n, i, role);
        if (t.rank() != 1 || t.dim(0) != length) {
            throw new OnnxFormatException(file + ": " + n + " input " + i + " (" + role + ") \"" + n.inputs.get(i)
                    + "\" has shape " + t.shape() + ", expected [" + length + "]");
        }
        return t;
    }

    private WeightSet toWeights() throws OnnxFormatException {
        checkMetadata();
        List<Node> convs = nodes.stream().filter(n -> n.op.equals("Conv")).toList();
        Tensor fcWeight = null;
        Tensor fcBias = null;
        Node fcNode = null;
        for (Node n : nodes) {
            if (n.op.equals("Gemm")) {
                Tensor w = matrix(n, init(n, 1, "weight"));
                long transB = n.attrs.containsKey("transB") ? n.attrs.get("transB").value() : 0;
                fcWeight = transB == 1 ? w : transpose(w);
                fcBias = n.inputs.size() > 2 && !n.inputs.get(2).isEmpty()
                        ? vector(n, 2, "bias", fcWeight.dim(0)) : null;
                fcNode = n;
            } else if (n.op.equals("MatMul") && n.inputs.size() > 1 && initializers.containsKey(n.inputs.get(1))) {
                fcWeight = transpose(matrix(n, init(n, 1, "weight")));
                fcNode = n;
                fcBias = null;
                String out = output(n);
                for (Node m : nodes) {
                    if (m.op.equals("Add") && m.inputs.contains(out)) {
                        int other = m.inputs.indexOf(out) == 0 ? 1 : 0;
                        fcBias = vector(m, other, "fc bias", fcWeight.dim(0));
                    }
                }
            }
        }
        if (fcWeight == null) {
            throw new OnnxFormatException(file + ": no Gemm/MatMul classifier found");
        }
        if (!Limits.CLASSES.allows(fcWeight.dim(0))) {
            throw new OnnxFormatException(Limits.CLASSES.exceeded(file + ": " + fcNode + " classes", fcWeight.dim(0)));
        }
        Architecture arch = architecture(convs).withClasses(fcWeight.dim(0));
        Network net = new Network(arch);
        List<ConvBn> ours = net.spec().convolutions();
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        for (int i = 0; i < convs.size(); i++) {
            Node n = convs.get(i);
            ConvBn c = ours.get(i);
            int ch = c.outChannels();
            Tensor w = init(n, 1, "weight of " + c.conv());
            Tensor bias = n.inputs.size() > 2 && !n.inputs.get(2).isEmpty() ? vector(n, 2, "bias", ch) : null;
            put(entries, c.weight(), w);
            Node bnNode = consumer(output(n), "BatchNormalization");
            Tensor gamma, beta, mean, var;
            if (bnNode != null) {
                float eps = bnNode.attrs.containsKey("epsilon") ? bnNode.attrs.get("epsilon").float32() : 1e-5f;
                if (Math.abs(eps - ConvBn.BN_EPS) > 1e-9) {
                    throw new OnnxFormatException(file + ": " + bnNode + " after " + c.conv() + " has epsilon "
                            + eps + ", jresnet uses " + ConvBn.BN_EPS);
                }
                gamma = vector(bnNode, 1, "scale", ch);
                beta = vector(bnNode, 2, "bias", ch);
                mean = vector(bnNode, 3, "mean", ch).copy();
                var = vector(bnNode, 4, "var", ch);
                if (bias != null) {
                    // BN(conv + b) = BN'(conv) with the mean shifted by b.
                    for (int k = 0; k < ch; k++) {
                        mean.data()[k] -= bias.data()[k];
                    }
                }
            } else {
                gamma = filled(ch, 1f);
                beta = bias != null ? bias : filled(ch, 0f);
                mean = filled(ch, 0f);
                var = filled(ch, 1f - ConvBn.BN_EPS);
            }
            put(entries, c.gamma(), gamma);
            put(entries, c.beta(), beta);
            put(entries, c.runningMean(), mean);
            put(entries, c.runningVar(), var);
        }
        Linear fc = net.spec().classifier();
        put(entries, fc.weight(), fcWeight);
        put(entries, fc.bias(), fcBias != null ? fcBias : filled(fcWeight.dim(0), 0f));
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.putAll(ArchitectureMatch.metadata(arch));
        meta.putIfAbsent("jresnet.source", file.getFileName().toString());
        WeightSet set = new WeightSet(file, entries, meta);
        // Fails here, naming the file, if anything is still off.
        try {
            WeightBinding.load(net, set);
        } catch (IOException e) {
            throw new OnnxFormatException(e.getMessage());
        }
        return set;
    }

    /** {@code w}, the weight of classifier node {@code n}, required to be a matrix. */
    private Tensor matrix(Node n, Tensor w) throws OnnxFormatException {
        if (w.rank() != 2) {
            throw new OnnxFormatException(file + ": " + n + " weight \"" + n.inputs.get(1) + "\" has shape " + w.shape()
                    + ", expected a matrix [classes, features]");
        }
        return w;
    }

    /**
     * The metadata jresnet reads besides the graph, checked here so that a bad value names this file and its key
     * rather than reading like a mistyped option later.
     */
    private void checkMetadata() throws OnnxFormatException {
        check(ArchitectureMatch.META_ARCHITECTURE, Architecture.KNOWN.stream().map(Architecture::id).toList());
        check(ArchitectureMatch.META_VARIANT, Arrays.stream(Variant.values()).map(Variant::id).toList());
        check(META_PRESET, Arrays.stream(Preset.values()).map(Preset::id).toList());
    }

    /** jresnet.preset (ResNet.META_PRESET, which this package cannot name: resnet sits above onnx). */
    private static final String META_PRESET = "jresnet.preset";

    private void check(String key, List<String> valid) throws OnnxFormatException {
        String v = metadata.get(key);
        if (v == null) {
            return;
        }
        try {
            switch (key) {
                case ArchitectureMatch.META_ARCHITECTURE -> Architecture.of(v);
                case ArchitectureMatch.META_VARIANT -> Variant.fromId(v);
                default -> Preset.fromName(v);
            }
        } catch (IllegalArgumentException e) {
            throw new OnnxFormatException(file + ": metadata " + key + "=" + v + " is not one of "
                    + String.join(", ", valid));
        }
    }

    /**
     * The architecture whose convolutions (weight shapes, strides, groups, in order) the Conv nodes are: the metadata's
     * when it names one, else the first known one that matches, in v1.5 or v1; throws naming the closest otherwise.
     */
    private Architecture architecture(List<Node> convs) throws OnnxFormatException {
        List<Architecture> candidates = new ArrayList<>();
        String named = metadata.get(ArchitectureMatch.META_ARCHITECTURE);
        if (named != null) {
            candidates.add(Architecture.of(named)); // checked by checkMetadata
        } else {
            candidates.addAll(Architecture.KNOWN);
        }
        String closest = null;
        int fewest = Integer.MAX_VALUE;
        for (Architecture a : candidates) {
            for (Variant v : new Variant[] {Variant.V1_5, Variant.V1}) {
                List<String> diffs = differences(a.withVariant(v).spec().convolutions(), convs);
                if (diffs.isEmpty()) {
                    return a.withVariant(v);
                }
                if (diffs.size() < fewest) {
                    fewest = diffs.size();
                    closest = a.withVariant(v).describe() + ": " + String.join("; ", diffs.subList(0,
                            Math.min(3, diffs.size()))) + (diffs.size() > 3 ? "; and " + (diffs.size() - 3) + " more" : "");
                }
            }
        }
        throw new OnnxFormatException(file + ": its " + convs.size() + " Conv nodes match no known architecture ("
                + Architecture.ids() + "); closest is " + closest);
    }

    /** How the Conv nodes differ from the description's convolutions (empty when they match). */
    private List<String> differences(List<ConvBn> ours, List<Node> convs) {
        List<String> d = new ArrayList<>();
        if (ours.size() != convs.size()) {
            d.add(ours.size() + " convolutions, found " + convs.size() + " Conv nodes");
            return d;
        }
        for (int i = 0; i < ours.size(); i++) {
            ConvBn c = ours.get(i);
            Node n = convs.get(i);
            Tensor w = n.inputs.size() > 1 ? initializers.get(n.inputs.get(1)) : null;
            Shape expected = Shape.of(c.outChannels(), c.groupChannels(),
                    c.kernel(), c.kernel());
            List<Long> strides = n.ints.getOrDefault("strides", List.of(1L, 1L));
            long groups = n.attrs.containsKey("group") ? n.attrs.get("group").value() : 1;
            if (w == null || !w.shape().equals(expected)) {
                d.add("Conv node " + i + " (" + c.conv() + ") weight " + (w == null ? "missing" : w.shape())
                        + ", expected " + expected);
            } else if (!strides.isEmpty() && strides.get(0) != c.stride()) {
                d.add("Conv node " + i + " (" + c.conv() + ") stride " + strides.get(0) + ", expected " + c.stride());
            } else if (groups != c.groups()) {
                d.add("Conv node " + i + " (" + c.conv() + ") group " + groups + ", expected " + c.groups());
            }
        }
        return d;
    }

    private Node consumer(String output, String op) {
        for (Node n : nodes) {
            if (n.op.equals(op) && n.inputs.contains(output)) {
                return n;
            }
        }
        return null;
    }

    private static void put(Map<String, WeightSet.Entry> m, String name, Tensor t) {
        m.put(name, new WeightSet.Entry(name, DataType.F32, t, null, t.shape().dims()));
    }

    private static Tensor filled(int n, float v) {
        Tensor t = Tensor.zeros(n);
        Arrays.fill(t.data(), v);
        return t;
    }

    private static Tensor transpose(Tensor w) {
        int r = w.dim(0), c = w.dim(1);
        Tensor t = Tensor.zeros(c, r);
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                t.data()[j * r + i] = w.data()[i * c + j];
            }
        }
        return t;
    }
}
