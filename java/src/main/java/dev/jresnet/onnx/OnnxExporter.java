package dev.jresnet.onnx;

import dev.jresnet.io.AtomicFile;

import dev.jresnet.nn.BatchNorm2d;
import dev.jresnet.nn.Bottleneck;
import dev.jresnet.nn.Conv2d;
import dev.jresnet.resnet.IncompatibleWeightsException;
import dev.jresnet.resnet.ResNet50;
import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.resnet.WeightBinding;
import dev.jresnet.weights.WeightSet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import java.util.List;
import java.util.Map;

/**
 * Writes a model as ONNX (opset 13, IR 7): input {@code input [N,3,H,W]} with a symbolic batch,
 * output {@code logits [N,classes]}. BatchNorm stays a node of its own (not folded), so the file keeps
 * torchvision's tensor names and imports back losslessly.
 */
public final class OnnxExporter {
    static final int OPSET = 13;
    static final int IR_VERSION = 7;
    static final int FLOAT = 1;
    // AttributeProto.AttributeType
    private static final int ATTR_FLOAT = 1;
    private static final int ATTR_INT = 2;
    private static final int ATTR_INTS = 7;

    private final ProtoWriter graph = new ProtoWriter();

    private OnnxExporter() {}

    /** Writes {@code model} to {@code out} atomically (temporary file, then rename). */
    public static void write(ResNet50 model, Path out) throws IOException {
        WeightSet weights = model.exportWeights(null);
        ResNet50Graph g = new ResNet50Graph(model.config());
        try {
            WeightBinding.load(g, weights);
        } catch (IncompatibleWeightsException e) {
            throw new IllegalStateException("a model's own weights must fit its graph", e);
        }
        byte[] bytes = new OnnxExporter().model(g, weights.metadata());
        Files.createDirectories(out.toAbsolutePath().getParent());
        AtomicFile.write(out, tmp -> Files.write(tmp, bytes));
    }

    private byte[] model(ResNet50Graph g, Map<String, String> metadata) {
        graph.string(2, "jresnet_resnet50");
        g.visitTensors((name, t, kind) -> graph.message(5, new ProtoWriter()
                .int64s(1, t.shape().dims())
                .int64(2, FLOAT)
                .string(8, name)
                .bytes(9, ProtoWriter.littleEndianFloats(t.data()))));
        graph.message(11, valueInfo("input", "N", 3, "H", "W"));
        graph.message(12, valueInfo("logits", "N", g.config.numClasses()));

        String x = conv(g.conv1, "input");                                     // [N, 64, 112, 112]
        x = relu(bn(g.bn1, x));
        node("MaxPool", List.of(x), "maxpool", new ProtoWriter[] {
                ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1)});
        x = "maxpool";                                                         // [N, 64, 56, 56]
        for (List<Bottleneck> stage : g.stages()) {
            for (Bottleneck b : stage) {
                x = bottleneck(b, x);                                          // ... [N, 2048, 7, 7]
            }
        }
        node("GlobalAveragePool", List.of(x), "avgpool", null);                // [N, 2048, 1, 1]
        node("Flatten", List.of("avgpool"), "flatten", new ProtoWriter[] {intAttr("axis", 1)});
        node("Gemm", List.of("flatten", "fc.weight", "fc.bias"), "logits", new ProtoWriter[] {
                intAttr("transB", 1), floatAttr("alpha", 1f), floatAttr("beta", 1f)});

        ProtoWriter m = new ProtoWriter()
                .int64(1, IR_VERSION)
                .string(2, "jresnet")
                .string(3, "0.1.0")
                .message(7, graph)
                .message(8, new ProtoWriter().string(1, "").int64(2, OPSET));
        metadata.forEach((k, v) -> m.message(14, new ProtoWriter().string(1, k).string(2, v)));
        return m.toByteArray();
    }

    private String bottleneck(Bottleneck b, String in) {
        String y = relu(bn(b.bn1, conv(b.conv1, in)));
        y = relu(bn(b.bn2, conv(b.conv2, y)));
        y = bn(b.bn3, conv(b.conv3, y));
        String shortcut = b.downsampleConv == null ? in : bn(b.downsampleBn, conv(b.downsampleConv, in));
        node("Add", List.of(y, shortcut), b.name + ".add", null);
        return relu(b.name + ".add");
    }

    private String conv(Conv2d c, String in) {
        int p = c.padding;
        node("Conv", List.of(in, c.name + ".weight"), c.name, new ProtoWriter[] {
                ints("kernel_shape", c.kernel, c.kernel), ints("strides", c.stride, c.stride),
                ints("pads", p, p, p, p), ints("dilations", 1, 1), intAttr("group", 1)});
        return c.name;
    }

    private String bn(BatchNorm2d b, String in) {
        node("BatchNormalization", List.of(in, b.name + ".weight", b.name + ".bias", b.name + ".running_mean",
                b.name + ".running_var"), b.name, new ProtoWriter[] {floatAttr("epsilon", BatchNorm2d.EPS)});
        return b.name;
    }

    private String relu(String in) {
        String out = in + ".relu";
        node("Relu", List.of(in), out, null);
        return out;
    }

    private void node(String op, List<String> inputs, String output, ProtoWriter[] attributes) {
        ProtoWriter n = new ProtoWriter();
        for (String i : inputs) {
            n.string(1, i);
        }
        n.string(2, output).string(3, output + "/" + op).string(4, op);
        if (attributes != null) {
            for (ProtoWriter a : attributes) {
                n.message(5, a);
            }
        }
        graph.message(1, n);
    }

    private static ProtoWriter ints(String name, int... values) {
        ProtoWriter a = new ProtoWriter().string(1, name).int64(20, ATTR_INTS);
        for (int v : values) {
            a.int64(8, v);
        }
        return a;
    }

    private static ProtoWriter intAttr(String name, long v) {
        return new ProtoWriter().string(1, name).int64(20, ATTR_INT).int64(3, v);
    }

    private static ProtoWriter floatAttr(String name, float v) {
        return new ProtoWriter().string(1, name).int64(20, ATTR_FLOAT).float32(2, v);
    }

    /** A float tensor's name and shape; a String dimension is symbolic (dim_param), an Integer fixed. */
    private static ProtoWriter valueInfo(String name, Object... dims) {
        ProtoWriter shape = new ProtoWriter();
        for (Object d : dims) {
            ProtoWriter dim = new ProtoWriter();
            if (d instanceof Integer i) {
                dim.int64(1, i);
            } else {
                dim.string(2, (String) d);
            }
            shape.message(1, dim);
        }
        ProtoWriter tensorType = new ProtoWriter().int64(1, FLOAT).message(2, shape);
        return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
    }
}
