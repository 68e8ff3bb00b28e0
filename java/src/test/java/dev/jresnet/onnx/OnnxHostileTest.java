package dev.jresnet.onnx;

import dev.jresnet.graph.Architecture;
import dev.jresnet.io.Limits;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile and broken ONNX files, made byte by byte here with the exporter's own {@link ProtoWriter}: each ends within
 * seconds in one {@link OnnxFormatException} (or, for what is not a file, an IOException) whose one line names the
 * file, the node or initializer, and the reason.
 */
class OnnxHostileTest {
    @TempDir
    Path tmp;
    /** Bytes the last {@link #rejects} allocated while reading. */
    private long allocated;

    // ---- building blocks (field numbers from onnx.proto) ----

    private static ProtoWriter node(String name, String op, List<String> inputs, List<String> outputs,
                                    ProtoWriter... attrs) {
        ProtoWriter n = new ProtoWriter();
        inputs.forEach(i -> n.string(1, i));
        outputs.forEach(o -> n.string(2, o));
        n.string(3, name).string(4, op);
        for (ProtoWriter a : attrs) {
            n.message(5, a);
        }
        return n;
    }

    private static ProtoWriter ints(String name, int... v) {
        return new ProtoWriter().string(1, name).int64s(8, v).int64(20, 7);
    }

    private static ProtoWriter intAttr(String name, long v) {
        return new ProtoWriter().string(1, name).int64(3, v).int64(20, 2);
    }

    /** A float initializer of zeros with raw_data. */
    private static ProtoWriter zeros(String name, int... dims) {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        return new ProtoWriter().int64s(1, dims).int64(2, 1).string(8, name).bytes(9, new byte[(int) (n * 4)]);
    }

    private static byte[] model(ProtoWriter graph, Map<String, String> metadata) {
        ProtoWriter m = new ProtoWriter().int64(1, 7).message(7, graph);
        metadata.forEach((k, v) -> m.message(14, new ProtoWriter().string(1, k).string(2, v)));
        return m.toByteArray();
    }

    /** A classifier alone: Gemm(x, fc.weight [classes, features], fc.bias) with transB = 1. */
    private static ProtoWriter gemmGraph(int classes, int features) {
        return new ProtoWriter()
                .message(1, node("fc", "Gemm", List.of("x", "fc.weight", "fc.bias"), List.of("y"), intAttr("transB", 1)))
                .message(5, zeros("fc.weight", classes, features))
                .message(5, zeros("fc.bias", classes));
    }

    /** What to break in the first convolution of {@link #resnet18}. */
    private record Breakage(int bnInputs, boolean convOutput, int convBias) {
        static final Breakage NONE = new Breakage(5, true, 0);
    }

    /**
     * A resnet18 (10 classes) as a graph the importer accepts: Conv + BatchNormalization per convolution, then Gemm;
     * weights zero. The first convolution is broken as {@code b} says. About 45 MB.
     */
    private static byte[] resnet18(Breakage b) {
        ProtoWriter g = new ProtoWriter();
        List<ConvBn> convs = Architecture.RESNET18.spec().convolutions();
        for (int i = 0; i < convs.size(); i++) {
            ConvBn c = convs.get(i);
            boolean first = i == 0;
            List<String> in = new ArrayList<>(List.of("x" + i, c.weight()));
            if (first && b.convBias > 0) {
                in.add("conv1.bias");
                g.message(5, zeros("conv1.bias", b.convBias));
            }
            g.message(1, node(c.conv(), "Conv", in, first && !b.convOutput ? List.of() : List.of(c.conv()),
                    ints("strides", c.stride(), c.stride()), intAttr("group", c.groups())));
            List<String> bn = List.of(c.conv(), c.gamma(), c.beta(), c.runningMean(), c.runningVar());
            g.message(1, node(c.bn(), "BatchNormalization", bn.subList(0, first ? b.bnInputs : 5), List.of(c.bn()),
                    new ProtoWriter().string(1, "epsilon").float32(2, ConvBn.BN_EPS).int64(20, 1)));
            g.message(5, zeros(c.weight(), c.outChannels(), c.groupChannels(), c.kernel(), c.kernel()));
            for (String p : bn.subList(1, 5)) {
                g.message(5, zeros(p, c.outChannels()));
            }
        }
        g.message(1, node("fc", "Gemm", List.of("pool", "fc.weight", "fc.bias"), List.of("y"), intAttr("transB", 1)))
                .message(5, zeros("fc.weight", 10, 512))
                .message(5, zeros("fc.bias", 10));
        return model(g, Map.of());
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(tmp.resolve(name), bytes);
    }

    /** Reads {@code f}, expecting one OnnxFormatException naming it and saying each of {@code parts}. */
    private OnnxFormatException rejects(Path f, String... parts) {
        OnnxFormatException e = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            long before = allocatedBytes(); // in the thread that reads
            OnnxFormatException x = assertThrows(OnnxFormatException.class, () -> OnnxImporter.read(f));
            allocated = allocatedBytes() - before;
            return x;
        });
        String m = e.getMessage();
        assertTrue(m.startsWith(f.toString()), m);
        assertTrue(!m.contains("\n"), "one line: " + m);
        for (String p : parts) {
            assertTrue(m.contains(p), "\"" + p + "\" missing from: " + m);
        }
        System.out.println("[hostile] " + m + "   <- " + allocated / 1024 + " KiB allocated while reading");
        return e;
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    // ---- the tests ----

    @Test
    void handMadeResnet18Imports() throws IOException {
        Path f = write("ok.onnx", resnet18(Breakage.NONE));
        WeightSet w = OnnxImporter.read(f);
        assertEquals("resnet18", w.metadata().get("jresnet.architecture"));
        assertEquals(10, w.entries().get("fc.weight").dims()[0]);
    }

    @Test
    void initializerClaimingMoreThanItHoldsIsRefusedBeforeAllocation() throws IOException {
        // 2^28 floats claimed (1 GiB, the element limit itself), 4 bytes present: nothing of 1 GiB is allocated
        ProtoWriter t = new ProtoWriter().int64(1, 1L << 28).int64(2, 1).string(8, "w").bytes(9, new byte[4]);
        byte[] bytes = model(new ProtoWriter().message(5, t), Map.of());
        assertTrue(bytes.length < 32, bytes.length + " bytes");
        Path f = write("claims.onnx", bytes);
        rejects(f, "needs 1073741824 bytes of raw_data, found 4");
        assertTrue(allocated < 16 << 20, "allocated " + allocated + " bytes");

        ProtoWriter fd = new ProtoWriter().int64(1, 1L << 28).int64(2, 1).string(8, "w").float32(4, 1f);
        rejects(write("floats.onnx", model(new ProtoWriter().message(5, fd), Map.of())),
                "[268435456] holds 1 ", "values, expected 268435456");
        assertTrue(allocated < 16 << 20, "allocated " + allocated + " bytes");

        ProtoWriter big = new ProtoWriter().int64(1, (1L << 28) + 1).int64(2, 1).string(8, "w");
        rejects(write("big.onnx", model(new ProtoWriter().message(5, big), Map.of())),
                "initializer \"w\" [268435457] elements: 268435457 exceeds the limit of 268435456",
                "-Djresnet.limit.tensorElements");
        ProtoWriter overflow = new ProtoWriter().int64s(1, new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE, 4})
                .int64(2, 1).string(8, "w");
        rejects(write("overflow.onnx", model(new ProtoWriter().message(5, overflow), Map.of())),
                "initializer \"w\" [2147483647, 2147483647, 4] elements", "exceeds the limit");
    }

    @Test
    void malformedVarintsAndLengthsAreNamed() throws IOException {
        byte[] eleven = {0x08, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80,
                (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x01};
        rejects(write("eleven.onnx", eleven), "malformed varint at byte 1");
        byte[] tenthTooBig = {0x08, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x02};
        rejects(write("tenth.onnx", tenthTooBig), "malformed varint at byte 1");
        byte[] negative = {0x3a, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01, 0x00};
        rejects(write("negative.onnx", negative), "field 7 at byte 0 claims 18446744073709551615 bytes but only 1 remain");
        rejects(write("truncated.onnx", new byte[] {0x3a, (byte) 0x80}), "truncated varint at byte 1");
        rejects(write("group.onnx", new byte[] {0x3b}), "unsupported protobuf wire type 3 for field 7");
    }

    @Test
    void tooManyNodesAreRefusedBeforeTheyFillTheHeap() throws IOException {
        // 5 bytes a node (op_type "A"): 100,001 nodes in 500 kB
        ProtoWriter g = new ProtoWriter();
        ProtoWriter a = new ProtoWriter().string(4, "A");
        for (long i = 0; i <= Limits.GRAPH_ITEMS.value(); i++) {
            g.message(1, a);
        }
        rejects(write("nodes.onnx", model(g, Map.of())), "graph items", "exceeds the limit of 100000",
                "-Djresnet.limit.graphItems");
    }

    @Test
    void packedListsAreCountedAsTheyAreRead() throws IOException {
        // 10 million packed dims of 1 byte each: refused at the 100,001st, not after a list of 10 million is built
        byte[] ones = new byte[10_000_000];
        java.util.Arrays.fill(ones, (byte) 1);
        ProtoWriter t = new ProtoWriter().bytes(1, ones).int64(2, 1).string(8, "w");
        rejects(write("dims.onnx", model(new ProtoWriter().message(5, t), Map.of())), "graph items",
                "at initializer dims", "exceeds the limit of 100000");
        assertTrue(allocated < 32 << 20, "allocated " + allocated + " bytes");
    }

    @Test
    void namesAndMetadataAreBoundedTogether() throws IOException {
        String key = Limits.HEADER_BYTES.property();
        System.setProperty(key, "1000");
        try {
            ProtoWriter g = new ProtoWriter();
            for (int i = 0; i < 20; i++) {
                g.message(1, node("n".repeat(100), "Relu", List.of("x"), List.of("y")));
            }
            rejects(write("names.onnx", model(g, Map.of())), "bytes of names and metadata", "exceeds the limit of 1000");
            rejects(write("meta.onnx", model(gemmGraph(2, 2), Map.of("k", "v".repeat(2000)))),
                    "bytes of names and metadata", "exceeds the limit of 1000");
        } finally {
            System.clearProperty(key);
        }
    }

    @Test
    void missingInputsNameTheNode() throws IOException {
        ProtoWriter lone = new ProtoWriter().message(1, node("fc", "Gemm", List.of("x"), List.of("y")));
        rejects(write("lone.onnx", model(lone, Map.of())), "node \"fc\" (Gemm) has no input 1 (weight); it lists 1 input [x]");
        ProtoWriter notInit = new ProtoWriter().message(1, node("fc", "Gemm", List.of("x", "w"), List.of("y")));
        rejects(write("notinit.onnx", model(notInit, Map.of())), "node \"fc\" (Gemm) input 1 (weight) \"w\" is not a float initializer");
        ProtoWriter vector = new ProtoWriter().message(1, node("", "Gemm", List.of("x", "w"), List.of("y")))
                .message(5, zeros("w", 7));
        rejects(write("vector.onnx", model(vector, Map.of())), "node #0 (Gemm) weight \"w\" has shape [7], expected a matrix");
        ProtoWriter addAlone = new ProtoWriter()
                .message(1, node("mm", "MatMul", List.of("x", "w"), List.of("h")))
                .message(1, node("add", "Add", List.of("h"), List.of("y")))
                .message(5, zeros("w", 4, 3));
        rejects(write("add.onnx", model(addAlone, Map.of())), "node \"add\" (Add) has no input 1 (fc bias)");
        ProtoWriter badBias = gemmGraph(3, 4).message(5, zeros("fc.bias", 5));
        // the second fc.bias replaces the first, as a map would
        rejects(write("bias.onnx", model(badBias, Map.of())), "node \"fc\" (Gemm) input 2 (bias) \"fc.bias\" has shape [5], expected [3]");
        ProtoWriter noOp = new ProtoWriter().message(1, new ProtoWriter().string(3, "nameless"));
        rejects(write("noop.onnx", model(noOp, Map.of())), "node \"nameless\" has no op_type");
    }

    @Test
    void brokenConvolutionsNameTheirNode() throws IOException {
        rejects(write("bn.onnx", resnet18(new Breakage(2, true, 0))),
                "node \"bn1\" (BatchNormalization) has no input 2 (bias); it lists 2 inputs [conv1, bn1.weight]");
        rejects(write("out.onnx", resnet18(new Breakage(5, false, 0))), "node \"conv1\" (Conv) has no output");
        rejects(write("cbias.onnx", resnet18(new Breakage(5, true, 1))),
                "node \"conv1\" (Conv) input 2 (bias) \"conv1.bias\" has shape [1], expected [64]");
    }

    @Test
    void badMetadataNamesTheFileAndTheKey() throws IOException {
        rejects(write("variant.onnx", model(gemmGraph(2, 2), Map.of("jresnet.variant", "v2"))),
                "metadata jresnet.variant=v2 is not one of v1, v1.5");
        rejects(write("preset.onnx", model(gemmGraph(2, 2), Map.of("jresnet.preset", "imagenet"))),
                "metadata jresnet.preset=imagenet is not one of torchvision-v1, torchvision-v2");
        rejects(write("arch.onnx", model(gemmGraph(2, 2), Map.of("jresnet.architecture", "vgg16"))),
                "metadata jresnet.architecture=vgg16 is not one of resnet18, ");
    }

    @Test
    void fileTruncatedWhileBeingReadIsAFormatError() throws IOException {
        // 4 MB of weights, cut to 100 bytes once the importer has opened the file: a memory mapping would fault
        // (java.lang.InternalError); positional reads come back short instead.
        Path f = write("shrinks.onnx", model(gemmGraph(1000, 1000), Map.of()));
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxImporter.read(f, () -> {
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(100);
            } catch (IOException x) {
                throw new UncheckedIOException(x);
            }
        }));
        assertTrue(e.getMessage().startsWith(f + ": ") && e.getMessage().contains("changed while it was being read"),
                e.getMessage());
        System.out.println("[hostile] " + e.getMessage());
    }

    @Test
    void namedPipesAndDevicesAreRefusedWithoutOpeningThem() throws Exception {
        Path fifo = tmp.resolve("pipe.onnx");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Path zero = Files.createSymbolicLink(tmp.resolve("zero.onnx"), Path.of("/dev/zero"));
        for (Path p : List.of(fifo, zero)) {
            IOException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> assertThrows(IOException.class, () -> OnnxImporter.read(p)));
            assertEquals(p + ": is not a regular file (a named pipe, a socket or a device)", e.getMessage());
            System.out.println("[hostile] " + e.getMessage());
        }
    }
}
