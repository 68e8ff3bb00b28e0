package dev.jresnet.cli;

import dev.jresnet.graph.Architecture;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.DataType;
import dev.jresnet.testing.CheckpointLoop;
import dev.jresnet.testing.ChildJvm;
import dev.jresnet.train.Checkpoint;
import dev.jresnet.train.SyntheticShapes;
import dev.jresnet.weights.SafetensorsReader;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Faults of the machine while writing: a process killed (SIGKILL, no cleanup of its own) in the middle of convert,
 * of a checkpoint write and of finetune leaves the previous file complete and loadable, and the next write to the
 * same file removes the temporary file it left; a full disk fails the write in one line naming the file, keeping
 * the old one. Each kill lands at a random point (seeded, printed) after the writer's temporary file appears, the
 * first right as it appears, so that at least one interrupts a write for certain.
 */
class FaultsTest {
    /** The random delays after the temporary file appears: within the time one write of these files takes. */
    private static final int MAX_KILL_DELAY_MS = 150;

    @TempDir
    Path tmp;

    private final long seed = System.nanoTime();
    private final SplittableRandom random = new SplittableRandom(seed);

    /** The temporary files AtomicFile would name for {@code dest}. */
    private static List<Path> temporaries(Path dest) throws IOException {
        String prefix = "." + dest.getFileName() + ".";
        try (Stream<Path> s = Files.list(dest.toAbsolutePath().getParent())) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix)
                    && p.getFileName().toString().endsWith(".tmp")).toList();
        }
    }

    /** Ages the leftovers as if the next run came two minutes later (AtomicFile spares younger ones: live writers). */
    private static void age(List<Path> leftovers) throws IOException {
        for (Path p : leftovers) {
            Files.setLastModifiedTime(p, FileTime.fromMillis(System.currentTimeMillis() - 120_000));
        }
    }

    private static void waitFor(BooleanSupplier condition, Process child, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            assertTrue(child.isAlive(), "the child ended before " + what);
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(1);
        }
    }

    /**
     * Starts {@code main args}, waits until {@code ready} holds and a temporary file of {@code dest} appears, waits
     * {@code delayMs} more and kills the child with SIGKILL. Returns whether it was still running when killed.
     */
    private boolean killWhileWriting(int kill, Class<?> main, Path dest, BooleanSupplier ready, int delayMs,
                                     String... args) throws Exception {
        Process child = ChildJvm.start(tmp.resolve("child" + kill + ".log"), main, args);
        try {
            waitFor(ready, child, "the child's first complete file");
            waitFor(() -> {
                try {
                    return !temporaries(dest).isEmpty();
                } catch (IOException e) {
                    return false;
                }
            }, child, "a write to " + dest);
            Thread.sleep(delayMs);
            System.out.println("kill " + kill + ": " + main.getSimpleName() + " SIGKILLed " + delayMs
                    + " ms after its temporary file appeared (seed " + seed + ")");
            return child.isAlive();
        } finally {
            child.destroyForcibly().waitFor(); // SIGKILL on Linux: no shutdown hook, no finally runs in the child
        }
    }

    private int delay(int kill) {
        return kill == 0 ? 0 : random.nextInt(MAX_KILL_DELAY_MS);
    }

    /** The error lines of a run (the lines before say which device and weights it used). */
    private static List<String> errors(ClassifyCommandTest.Run r) {
        return r.err().lines().filter(l -> l.startsWith("jresnet: error:")).toList();
    }

    @Test
    void convertKilledMidWriteKeepsTheOldFileAndTheNextRunRemovesItsTemporary() throws Exception {
        Path in = tmp.resolve("resnet18.safetensors");
        try (ResNet m = ResNet.builder().architecture(Architecture.of("resnet18")).device(Device.cpu()).build()) {
            WeightSet set = m.exportWeights("seeded");
            SafetensorsWriter.write(in, set, DataType.F32, set.metadata());
        }
        Path out = tmp.resolve("converted.safetensors");
        assertEquals(0, Main.run("convert", in.toString(), "--out", out.toString(), "--dtype", "bf16"));
        int tensors = SafetensorsReader.read(out).entries().size();
        int leftovers = 0;
        for (int kill = 0; kill < 3; kill++) {
            killWhileWriting(kill, Main.class, out, () -> true, delay(kill),
                    "convert", in.toString(), "--out", out.toString(), "--dtype", kill % 2 == 0 ? "f32" : "f16");
            assertEquals(tensors, SafetensorsReader.read(out).entries().size(), "a complete file, old or new");
            leftovers = temporaries(out).size();
        }
        assertTrue(leftovers > 0, "a kill landed mid-write");
        age(temporaries(out));
        assertEquals(0, Main.run("convert", in.toString(), "--out", out.toString()));
        assertEquals(List.of(), temporaries(out), "the next run removed the dead writers' temporary files");
        try (ResNet m = ResNet.builder().weights(out).device(Device.cpu()).build()) {
            assertEquals("resnet18", m.architecture().id());
        }
    }

    @Test
    void checkpointWriteKilledMidWriteKeepsTheLastCompleteCheckpoint() throws Exception {
        Path ckpt = tmp.resolve("run.ckpt.safetensors");
        for (int kill = 0; kill < 3; kill++) {
            killWhileWriting(kill, CheckpointLoop.class, ckpt, () -> Files.exists(ckpt), delay(kill), ckpt.toString());
            Checkpoint c = Checkpoint.read(ckpt);
            float epoch = c.state().epoch(); // the value every element of that epoch's tensor holds
            float[] w = c.weights().get("fc.weight").data();
            assertEquals(CheckpointLoop.ELEMENTS, w.length);
            assertEquals(epoch, w[0]);
            assertEquals(epoch, w[w.length - 1], "one epoch's checkpoint, not a mix");
        }
        List<Path> leftovers = temporaries(ckpt);
        assertFalse(leftovers.isEmpty(), "a kill landed mid-write");
        age(leftovers);
        Checkpoint last = Checkpoint.read(ckpt);
        Checkpoint.write(ckpt, last.weights(), new dev.jresnet.train.Sgd(0.9f, 0f, false), last.state(), Map.of());
        assertEquals(List.of(), temporaries(ckpt));
    }

    @Test
    void finetuneKilledWhileCheckpointingLeavesALoadableCheckpoint() throws Exception {
        Path data = tmp.resolve("shapes");
        SyntheticShapes.generate(data, 4, 32, 1);
        Path model = tmp.resolve("out/shapes.safetensors");
        Path ckpt = tmp.resolve("out/shapes.ckpt.safetensors");
        String[] args = {"finetune", data.toString(), "--out", model.toString(), "--arch", "resnet18",
                "--image-size", "32", "--no-augment", "--batch", "8", "--workers", "1", "--epochs", "1000"};
        for (int kill = 0; kill < 1; kill++) { // one: each costs a JVM, a network and a first epoch
            killWhileWriting(kill, Main.class, ckpt, () -> Files.exists(ckpt), delay(kill), args);
            assertTrue(Checkpoint.read(ckpt).state().epoch() >= 1, "the checkpoint loads");
        }
        List<Path> leftovers = temporaries(ckpt);
        assertFalse(leftovers.isEmpty(), "a kill landed mid-write");
        age(leftovers);
        args[args.length - 1] = "1";
        ClassifyCommandTest.Run r = ClassifyCommandTest.run(args);
        assertEquals(0, r.exit(), r.err());
        assertEquals(List.of(), temporaries(ckpt), "the next run removed the temporary checkpoint");
        assertEquals(List.of(), temporaries(model));
        assertEquals(1, Checkpoint.read(ckpt).state().epoch());
    }

    /**
     * A 1 MiB tmpfs (root, and a container that lets it mount): export and convert of resnet18 (47 MB) fail with one
     * line "writing FILE: No space left on device" and leave the old file as it was and no temporary file.
     */
    @Test
    void aFullDiskFailsTheWriteInOneLineNamingTheFileAndKeepsTheOldOne() throws Exception {
        Path small = Files.createDirectories(tmp.resolve("small"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small.toString())
                .redirectErrorStream(true).start();
        String why = new String(mount.getInputStream().readAllBytes()).strip();
        assumeTrue(mount.waitFor() == 0, "cannot mount a small tmpfs here (needs root and a mount-permitting "
                + "container): " + why);
        try {
            Path onnx = Files.writeString(small.resolve("model.onnx"), "the previous export");
            ClassifyCommandTest.Run r = ClassifyCommandTest.run("export", "--untrained", "--arch", "resnet18", "--out",
                    onnx.toString());
            assertEquals(2, r.exit(), r.err() + r.out());
            assertEquals(List.of("jresnet: error: writing " + onnx + ": No space left on device"), errors(r), r.err());
            assertEquals("the previous export", Files.readString(onnx));
            assertEquals(List.of(), temporaries(onnx));

            Path in = tmp.resolve("resnet18.safetensors");
            try (ResNet m = ResNet.builder().architecture(Architecture.of("resnet18")).device(Device.cpu()).build()) {
                WeightSet set = m.exportWeights("seeded");
                SafetensorsWriter.write(in, set, DataType.F32, set.metadata());
            }
            Path st = Files.writeString(small.resolve("w.safetensors"), "the previous conversion");
            r = ClassifyCommandTest.run("convert", in.toString(), "--out", st.toString());
            assertEquals(2, r.exit(), r.err() + r.out());
            assertEquals(List.of("jresnet: error: writing " + st + ": No space left on device"), errors(r), r.err());
            assertEquals("the previous conversion", Files.readString(st));
            assertEquals(List.of(), temporaries(st));
        } finally {
            new ProcessBuilder("umount", small.toString()).inheritIO().start().waitFor();
        }
    }
}
