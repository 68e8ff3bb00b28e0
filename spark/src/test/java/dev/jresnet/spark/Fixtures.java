package dev.jresnet.spark;

import dev.jresnet.cli.Main;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.graph.WeightBinding;
import dev.jresnet.image.Preset;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.DataType;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightSet;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Image folders, a tiny fine-tuned model, and the engine's CLI run in-process, for the Spark tests. */
final class Fixtures {
    private Fixtures() {}

    record Run(int exit, String out, String err) {}

    static Path samples() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("samples"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("no samples/ folder above " + Path.of("").toAbsolutePath());
        }
        return p.resolve("samples");
    }

    /** DIR/coffee.png, DIR/sub/rocket.jpg, DIR/chelsea.png and DIR/sub/broken.jpg (text, not an image). */
    static Path images(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("sub"));
        Files.copy(samples().resolve("coffee.png"), dir.resolve("coffee.png"));
        Files.copy(samples().resolve("chelsea.png"), dir.resolve("chelsea.png"));
        Files.copy(samples().resolve("rocket.jpg"), dir.resolve("sub/rocket.jpg"));
        Files.writeString(dir.resolve("sub/broken.jpg"), "this is not a JPEG");
        return dir;
    }

    /** A seeded resnet18 with 3 classes "cat", "dog", "rocket", fine-tuned (its metadata says) at 64 px. */
    static Path fineTunedModel(Path dir) throws IOException {
        Network g = new Network(Architecture.RESNET18.withClasses(3));
        WeightBinding.initialise(g, 7);
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        g.visitTensors((name, t, kind) -> entries.put(name,
                new WeightSet.Entry(name, DataType.F32, t, null, t.shape().dims())));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(ResNet.META_CLASSES, "cat\ndog\nrocket");
        meta.put(ResNet.META_PRESET, Preset.TORCHVISION_V1.id());
        meta.put(ResNet.META_IMAGE_SIZE, "64");
        Path file = dir.resolve("tiny.safetensors");
        SafetensorsWriter.write(file, new WeightSet(null, entries, Map.of()), DataType.F32, meta);
        return file;
    }

    /** The engine's CLI ({@code jresnet ARGS}), with this module's {@code spark} command found by ServiceLoader. */
    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** A binaryFile path ("file:/tmp/x.png") as the CLI names the file ("/tmp/x.png"). */
    static String local(String uri) {
        return uri.startsWith("file:") ? Path.of(java.net.URI.create(uri)).toString() : uri;
    }
}
