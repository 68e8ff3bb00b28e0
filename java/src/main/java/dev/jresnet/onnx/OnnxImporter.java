package dev.jresnet.onnx;

import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.ArchitectureMatch;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.Variant;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.Linear;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.WeightSet;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
    private record Node(String op, List<String> inputs, List<String> outputs, Map<String, ProtoReader.Field> attrs,
                        Map<String, List<Long>> ints) {}

    private final Path file;
    private final Map<String, Tensor> initializers = new HashMap<>();
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    private OnnxImporter(Path file) {
        this.file = file;
    }

    /** The ONNX file's weights under torchvision names, with the variant and metadata jresnet understands. */
    public static WeightSet read(Path file) throws IOException {
        OnnxImporter im = new OnnxImporter(file);
        ByteBuffer bytes;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() > Integer.MAX_VALUE) {
                throw new OnnxFormatException(file + ": ONNX files over 2 GiB (external data) are not supported");
            }
            bytes = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        }
        im.parseModel(bytes);
        return im.toWeights();
    }

    private void parseModel(ByteBuffer bytes) throws OnnxFormatException {
        boolean sawGraph = false;
        for (ProtoReader.Field f : new ProtoReader(bytes, file + " (ModelProto)").fields()) {
            if (f.number() == 7 && f.wireType() == 2) {
                parseGraph(f.message(file + " (GraphProto)"));
                sawGraph = true;
            } else if (f.number() == 14 && f.wireType() == 2) {
                String k = null, v = null;
                for (ProtoReader.Field e : f.message(file + " (metadata)").fields()) {
                    if (e.number() == 1) {
                        k = e.string();
                    } else if (e.number() == 2) {
                        v = e.string();
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

    private void parseGraph(ProtoReader g) throws OnnxFormatException {
        for (ProtoReader.Field f : g.fields()) {
            if (f.wireType() != 2) {
                continue;
            }
            if (f.number() == 1) {
                nodes.add(parseNode(f.message(file + " (NodeProto)")));
            } else if (f.number() == 5) {
                parseInitializer(f.message(file + " (TensorProto)"));
            }
        }
    }

    private Node parseNode(ProtoReader r) throws OnnxFormatException {
        String op = null;
        List<String> in = new ArrayList<>(), out = new ArrayList<>();
        Map<String, ProtoReader.Field> attrs = new HashMap<>();
        Map<String, List<Long>> ints = new HashMap<>();
        for (ProtoReader.Field f : r.fields()) {
            switch (f.number()) {
                case 1 -> in.add(f.string());
                case 2 -> out.add(f.string());
                case 4 -> op = f.string();
                case 5 -> {
                    String name = null;
                    ProtoReader.Field value = null;
                    List<Long> list = new ArrayList<>();
                    for (ProtoReader.Field a : f.message(file + " (AttributeProto)").fields()) {
                        if (a.number() == 1) {
                            name = a.string();
                        } else if (a.number() == 2 || a.number() == 3) {
                            value = a;
                        } else if (a.number() == 8) {
                            ProtoReader.int64s(a, list);
                        }
                    }
                    if (name != null) {
                        if (value != null) {
                            attrs.put(name, value);
                        }
                        ints.put(name, list);
                    }
                }
                default -> { }
            }
        }
        if (op == null) {
            throw new OnnxFormatException(file + ": a node without op_type");
        }
        return new Node(op, in, out, attrs, ints);
    }

    private void parseInitializer(ProtoReader r) throws OnnxFormatException {
        List<Long> dims = new ArrayList<>();
        long type = FLOAT_TYPE;
        String name = null;
        ByteBuffer raw = null;
        List<Float> floatData = new ArrayList<>();
        for (ProtoReader.Field f : r.fields()) {
            switch (f.number()) {
                case 1 -> ProtoReader.int64s(f, dims);
                case 2 -> type = f.value();
                case 8 -> name = f.string();
                case 9 -> raw = f.slice();
                case 4 -> {
                    if (f.wireType() == 5) {
                        floatData.add(f.float32());
                    } else if (f.wireType() == 2) {
                        ByteBuffer b = f.slice().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                        while (b.remaining() >= 4) {
                            floatData.add(b.getFloat());
                        }
                    }
                }
                case 14 -> {
                    if (f.value() == 1) {
                        throw new OnnxFormatException(file + ": initializer " + name + " uses external data, which is not supported");
                    }
                }
                default -> { }
            }
        }
        if (name == null || type != FLOAT_TYPE) {
            return; // integer shape constants and the like are not weights
        }
        int[] d = dims.stream().mapToInt(Long::intValue).toArray();
        if (d.length == 0 || dims.stream().anyMatch(x -> x <= 0 || x > Integer.MAX_VALUE)) {
            return; // scalars are graph constants, not ResNet weights
        }
        Shape shape = Shape.of(d);
        float[] data = new float[shape.size()];
        if (raw != null) {
            if (raw.remaining() != (long) data.length * 4) {
                throw new OnnxFormatException(file + ": initializer " + name + " " + shape + " needs "
                        + data.length * 4L + " bytes of raw_data, found " + raw.remaining());
            }
            raw.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
        } else if (floatData.size() == data.length) {
            for (int i = 0; i < data.length; i++) {
                data[i] = floatData.get(i);
            }
        } else {
            throw new OnnxFormatException(file + ": initializer " + name + " " + shape + " holds "
                    + floatData.size() + " values, expected " + data.length);
        }
        initializers.put(name, new Tensor(shape, data));
    }

    private static final long FLOAT_TYPE = 1;

    private Tensor init(String name, String role) throws OnnxFormatException {
        Tensor t = initializers.get(name);
        if (t == null) {
            throw new OnnxFormatException(file + ": " + role + " \"" + name + "\" is not a float initializer");
        }
        return t;
    }

    private WeightSet toWeights() throws OnnxFormatException {
        List<Node> convs = nodes.stream().filter(n -> n.op.equals("Conv")).toList();
        Tensor fcWeight = null;
        Tensor fcBias = null;
        for (Node n : nodes) {
            if (n.op.equals("Gemm")) {
                Tensor w = init(n.inputs.get(1), "Gemm weight");
                long transB = n.attrs.containsKey("transB") ? n.attrs.get("transB").value() : 0;
                fcWeight = transB == 1 ? w : transpose(w);
                fcBias = n.inputs.size() > 2 ? init(n.inputs.get(2), "Gemm bias") : null;
            } else if (n.op.equals("MatMul") && initializers.containsKey(n.inputs.get(1))) {
                fcWeight = transpose(init(n.inputs.get(1), "MatMul weight"));
                String out = n.outputs.get(0);
                for (Node m : nodes) {
                    if (m.op.equals("Add") && m.inputs.contains(out)) {
                        String other = m.inputs.get(0).equals(out) ? m.inputs.get(1) : m.inputs.get(0);
                        fcBias = init(other, "fc bias");
                    }
                }
            }
        }
        if (fcWeight == null || fcWeight.rank() != 2) {
            throw new OnnxFormatException(file + ": no Gemm/MatMul classifier found"
                    + (fcWeight == null ? "" : " (found weight " + fcWeight.shape() + ")"));
        }
        Architecture arch = architecture(convs).withClasses(fcWeight.dim(0));
        Network net = new Network(arch);
        List<ConvBn> ours = net.spec().convolutions();
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        for (int i = 0; i < convs.size(); i++) {
            Node n = convs.get(i);
            ConvBn c = ours.get(i);
            Tensor w = init(n.inputs.get(1), "weight of Conv node " + i + " (" + c.conv() + ")");
            Tensor bias = n.inputs.size() > 2 && !n.inputs.get(2).isEmpty() ? init(n.inputs.get(2), "conv bias") : null;
            put(entries, c.weight(), w);
            Node bnNode = consumer(n.outputs.get(0), "BatchNormalization");
            int ch = c.outChannels();
            Tensor gamma, beta, mean, var;
            if (bnNode != null) {
                float eps = bnNode.attrs.containsKey("epsilon") ? bnNode.attrs.get("epsilon").float32() : 1e-5f;
                if (Math.abs(eps - ConvBn.BN_EPS) > 1e-9) {
                    throw new OnnxFormatException(file + ": BatchNormalization after " + c.conv() + " has epsilon "
                            + eps + ", jresnet uses " + ConvBn.BN_EPS);
                }
                gamma = init(bnNode.inputs.get(1), "BN scale");
                beta = init(bnNode.inputs.get(2), "BN bias");
                mean = init(bnNode.inputs.get(3), "BN mean").copy();
                var = init(bnNode.inputs.get(4), "BN var");
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

    /**
     * The architecture whose convolutions (weight shapes, strides, groups, in order) the Conv nodes are: the metadata's
     * when it names one, else the first known one that matches, in v1.5 or v1; throws naming the closest otherwise.
     */
    private Architecture architecture(List<Node> convs) throws OnnxFormatException {
        List<Architecture> candidates = new ArrayList<>();
        String named = metadata.get(ArchitectureMatch.META_ARCHITECTURE);
        if (named != null) {
            try {
                candidates.add(Architecture.of(named));
            } catch (IllegalArgumentException e) {
                throw new OnnxFormatException(file + ": metadata " + ArchitectureMatch.META_ARCHITECTURE + " says "
                        + e.getMessage());
            }
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
