package dev.jresnet.onnx;

import dev.jresnet.graph.Network;
import dev.jresnet.io.AtomicFile;
import dev.jresnet.nn.AddRelu;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.GlobalAvgPool;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.MaxPool;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.nn.Step;
import dev.jresnet.nn.StepVisitor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes a network as ONNX (opset 13, IR 7), one node (or a few) per step of its description: input
 * {@code input [N,3,H,W]} with symbolic sizes, output {@code logits [N,classes]}. Batch norm stays a node of its own
 * (not folded), so the file keeps torchvision's tensor names and imports back losslessly; grouped convolutions carry
 * their {@code group} attribute.
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

    /** Writes {@code net} with {@code metadata} (metadata_props) to {@code out} atomically (temporary file, rename). */
    public static void write(Network net, Map<String, String> metadata, Path out) throws IOException {
        byte[] bytes = new OnnxExporter().model(net, metadata);
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        AtomicFile.write(out, tmp -> Files.write(tmp, bytes));
    }

    private byte[] model(Network net, Map<String, String> metadata) {
        NetworkSpec spec = net.spec();
        graph.string(2, "jresnet_" + spec.name());
        net.visitTensors((name, t, kind) -> graph.message(5, new ProtoWriter()
                .int64s(1, t.shape().dims())
                .int64(2, FLOAT)
                .string(8, name)
                .bytes(9, ProtoWriter.littleEndianFloats(t.data()))));
        graph.message(11, valueInfo("input", "N", spec.inputChannels(), "H", "W"));
        graph.message(12, valueInfo("logits", "N", spec.numClasses()));
        String[] names = new String[spec.valueCount()];
        names[0] = "input";
        StepVisitor emit = new StepVisitor() {
            @Override
            public void convBn(ConvBn s) {
                int p = s.pad();
                node("Conv", List.of(names[s.in()], s.weight()), s.conv(), new ProtoWriter[] {
                        ints("kernel_shape", s.kernel(), s.kernel()), ints("strides", s.stride(), s.stride()),
                        ints("pads", p, p, p, p), ints("dilations", 1, 1), intAttr("group", s.groups())});
                String y = stepName(spec, s);
                node("BatchNormalization", List.of(s.conv(), s.gamma(), s.beta(), s.runningMean(), s.runningVar()),
                        y, new ProtoWriter[] {floatAttr("epsilon", ConvBn.BN_EPS)});
                if (s.residual() >= 0) {
                    node("Add", List.of(y, names[s.residual()]), y + ".add", null);
                    y = y + ".add";
                }
                names[s.out()] = s.relu() ? relu(y) : y;
            }

            @Override
            public void addRelu(AddRelu s) {
                String name = stepName(spec, s);
                node("Add", List.of(names[s.a()], names[s.b()]), name, null);
                names[s.out()] = relu(name);
            }

            @Override
            public void maxPool(MaxPool s) {
                int p = s.pad();
                names[s.out()] = stepName(spec, s);
                node("MaxPool", List.of(names[s.in()]), names[s.out()], new ProtoWriter[] {
                        ints("kernel_shape", s.kernel(), s.kernel()), ints("strides", s.stride(), s.stride()),
                        ints("pads", p, p, p, p)});
            }

            @Override
            public void globalAvgPool(GlobalAvgPool s) {
                String pooled = stepName(spec, s);
                node("GlobalAveragePool", List.of(names[s.in()]), pooled, null);          // [N, C, 1, 1]
                node("Flatten", List.of(pooled), "flatten", new ProtoWriter[] {intAttr("axis", 1)});
                names[s.out()] = "flatten";
            }

            @Override
            public void linear(Linear s) {
                String out = stepName(spec, s);
                node("Gemm", List.of(names[s.in()], s.weight(), s.bias()), out, new ProtoWriter[] {
                        intAttr("transB", 1), floatAttr("alpha", 1f), floatAttr("beta", 1f)});
                names[s.out()] = out;
            }
        };
        for (Step s : spec.steps()) {
            s.accept(emit);
        }
        ProtoWriter m = new ProtoWriter()
                .int64(1, IR_VERSION)
                .string(2, "jresnet")
                .string(3, "0.1.0")
                .message(7, graph)
                .message(8, new ProtoWriter().string(1, "").int64(2, OPSET));
        if (metadata != null) {
            metadata.forEach((k, v) -> m.message(14, new ProtoWriter().string(1, k).string(2, v)));
        }
        return m.toByteArray();
    }

    /**
     * The name of the value a step's first node writes (before its residual add or ReLU, which extend it: "layer1.0.bn1"
     * then "layer1.0.bn1.relu"): a convolution by its batch norm, "maxpool", "avgpool", a block's "layer1.0.add",
     * the network's classifier "logits" (else its own name). Engines that fuse a step name their node after these
     * (the kernel lab matches ONNX Runtime's to the steps by them). The same for a step of {@code spec} and of its
     * {@link NetworkSpec#fused() fused} form.
     */
    public static String stepName(NetworkSpec spec, Step step) {
        if (step instanceof ConvBn c) {
            return c.bn();
        } else if (step instanceof AddRelu a) {
            return blockOf(spec, a.a()) + ".add";
        } else if (step instanceof MaxPool) {
            return "maxpool";
        } else if (step instanceof GlobalAvgPool) {
            return "avgpool";
        } else if (step instanceof Linear l) {
            return l.out() == spec.outputValue() ? "logits" : l.name();
        }
        throw new IllegalArgumentException("no ONNX name for a step of kind " + step.getClass().getSimpleName());
    }

    /** "layer1.0" for the value a block's last convolution made (its name less the last part), else "value N". */
    private static String blockOf(NetworkSpec spec, int value) {
        Step producer = value > 0 ? spec.steps().get(value - 1) : null;
        if (producer instanceof ConvBn c && c.conv().lastIndexOf('.') > 0) {
            return c.conv().substring(0, c.conv().lastIndexOf('.'));
        }
        return "value" + value;
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
