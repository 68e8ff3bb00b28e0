package dev.jresnet.cli;

import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.jresnet.cli.ClassifyBadInputsTest.classify;
import static dev.jresnet.cli.ClassifyBadInputsTest.failures;
import static dev.jresnet.cli.ClassifyBadInputsTest.png;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Inputs users have: folders, other image formats, numpy's float64, channels-last arrays, weights in the wrong place. */
class ClassifyInputsTest {
    /** The input names classify printed on stdout (text output: a name line, then indented classes). */
    private static List<String> classified(ClassifyCommandTest.Run r) {
        return r.out().lines().filter(l -> !l.startsWith(" ")).toList();
    }

    @Test
    void foldersAreWalkedInNameOrderSkippingHiddenAndOtherFiles(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectories(tmp.resolve("photos"));
        png(data.resolve("b.png"), 30, 20);
        Files.createDirectories(data.resolve("a-sub"));
        ImageIO.write(ImageIO.read(png(data.resolve("a-sub/x.png"), 20, 20).toFile()), "bmp",
                data.resolve("a-sub/y.BMP").toFile());
        Files.createDirectories(data.resolve(".cache"));
        png(data.resolve(".cache/thumb.png"), 8, 8);
        png(data.resolve(".hidden.png"), 8, 8);
        Files.writeString(data.resolve("notes.txt"), "not an input");
        ClassifyBadInputsTest.npy(data.resolve("c.npy"), 0.25f);
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Files.writeString(empty.resolve("README.md"), "nothing to classify");
        Path single = png(tmp.resolve("single.png"), 16, 16);

        ClassifyCommandTest.Run r = classify(data.toString(), empty.toString(), single.toString(), "--batch", "2");
        assertEquals(List.of(data.resolve("a-sub/x.png").toString(), data.resolve("a-sub/y.BMP").toString(),
                data.resolve("b.png").toString(), data.resolve("c.npy").toString(), single.toString()), classified(r));
        List<String> bad = failures(r);
        assertEquals(List.of("jresnet: cannot classify " + empty + ": holds no images (.png .jpg .jpeg .gif .bmp .tif "
                + ".tiff .webp .heic .heif .avif) or .npy files (hidden files are skipped)"), bad, r.err());
        assertEquals(1, r.exit(), r.err());
    }

    @Test
    void inputsPastTheBoundStopTheWalkInOneLine(@TempDir Path tmp) throws Exception {
        Path first = Files.createDirectories(tmp.resolve("first"));
        Path second = Files.createDirectories(tmp.resolve("second"));
        for (String n : new String[] {"b", "a"}) {
            png(first.resolve(n + ".png"), 16, 16);
            png(second.resolve(n + ".png"), 16, 16);
        }
        png(second.resolve("c.png"), 16, 16);
        Path last = png(tmp.resolve("last.png"), 16, 16);
        System.setProperty("jresnet.limit.filesPerRun", "4");
        ClassifyCommandTest.Run r;
        try {
            r = classify(first.toString(), second.toString(), last.toString(), last.toString());
        } finally {
            System.clearProperty("jresnet.limit.filesPerRun");
        }
        assertEquals(List.of(first.resolve("a.png").toString(), first.resolve("b.png").toString(), last.toString()),
                classified(r));
        assertEquals(List.of(
                "jresnet: cannot classify " + second + ": input files with the entries of this folder: 5 exceeds the "
                        + "limit of 4 (-Djresnet.limit.filesPerRun=N raises it); it was not read",
                "jresnet: cannot classify " + last + ": input files: 5 exceeds the limit of 4 "
                        + "(-Djresnet.limit.filesPerRun=N raises it); this and later inputs were not read"),
                failures(r), r.err());
    }

    /** A .npy of numpy's default float64, shape (1, 3, 224, 224) with values 0.1 .. 0.4. */
    private static Path float64Npy(Path file, int... shape) throws Exception {
        StringBuilder dims = new StringBuilder();
        long n = 1;
        for (int d : shape) {
            dims.append(d).append(", ");
            n *= d;
        }
        String header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims.toString().strip() + "), }";
        header += " ".repeat(63 - (10 + header.length()) % 64) + "\n";
        ByteBuffer b = ByteBuffer.allocate((int) (10 + header.length() + 8 * n)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.ISO_8859_1));
        for (long i = 0; i < n; i++) {
            b.putDouble(0.1 * (i % 4 + 1));
        }
        Files.write(file, b.array());
        return file;
    }

    @Test
    void float64IsClassifiedAsTheSameFloat32AndChannelsLastIsExplained(@TempDir Path tmp) throws Exception {
        Path f64 = float64Npy(tmp.resolve("f64.npy"), 1, 3, 224, 224);
        Tensor same = new Tensor(Shape.of(1, 3, 224, 224), new float[3 * 224 * 224]);
        for (int i = 0; i < same.data().length; i++) {
            same.data()[i] = (float) (0.1 * (i % 4 + 1));
        }
        Path f32 = tmp.resolve("f32.npy");
        dev.jresnet.tensor.Npy.write(f32, same);
        Path hwc = float64Npy(tmp.resolve("hwc.npy"), 224, 224, 3);
        Path big = float64Npy(tmp.resolve("big.npy"), 1, 3, 256, 256);
        ClassifyCommandTest.Run r = classify(f64.toString(), f32.toString(), hwc.toString(), big.toString(), "--top", "3");
        List<String> lines = r.out().lines().toList();
        assertEquals(8, lines.size(), r.out());
        assertEquals(lines.subList(1, 4), lines.subList(5, 8), "float64 and float32 of the same values: same result");
        assertEquals(List.of(
                "jresnet: cannot classify " + hwc + ": expected [3,224,224] or [N,3,224,224] (preprocessed, channels "
                        + "first); got [224,224,3] float64: channels last: transpose it, arr.transpose(2, 0, 1)",
                "jresnet: cannot classify " + big + ": expected [3,224,224] or [N,3,224,224] (preprocessed, channels "
                        + "first); got [1,3,256,256] float64: 256x256 instead of 224x224: this model takes 224 pixels; "
                        + "resize and center-crop to that (or pass the image file itself)"), failures(r), r.err());
    }

    @Test
    void weightsGivenAsInputAndInputsGivenAsWeightsAreNamed(@TempDir Path tmp) throws Exception {
        Path pth = tmp.resolve("resnet50.pth");
        Files.write(pth, new byte[] {'P', 'K', 3, 4, 0, 0, 0, 0});
        Path good = png(tmp.resolve("cat.png"), 20, 20);
        ClassifyCommandTest.Run r = classify(pth.toString(), good.toString());
        assertEquals(List.of("jresnet: cannot classify " + pth + ": a weights file, not an image or .npy tensor: "
                + "give weights with --weights FILE"), failures(r), r.err());

        ClassifyCommandTest.Run asWeights = ClassifyCommandTest.run("classify", good.toString(), "--weights",
                good.toString(), "--device", "cpu");
        assertEquals(2, asWeights.exit(), asWeights.err());
        assertTrue(asWeights.err().contains(good + ": a PNG image, not a weights file (.pth, .safetensors or .onnx)"),
                asWeights.err());
        assertFalse(asWeights.err().contains("\tat "), asWeights.err());
    }

    @Test
    void aTrainingCheckpointGivenAsWeightsPointsToTheModel(@TempDir Path tmp) throws Exception {
        Path ckpt = tmp.resolve("model.ckpt.safetensors");
        WeightSet set = new WeightSet(null, Map.of("fc.weight", new WeightSet.Entry("fc.weight",
                DataType.F32, new Tensor(Shape.of(2, 2), new float[4]), null, new int[] {2, 2})), Map.of());
        SafetensorsWriter.write(ckpt, set, DataType.F32, Map.of("jresnet.checkpoint", "1", "jresnet.epoch", "3"));
        Path good = png(tmp.resolve("cat.png"), 20, 20);
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("classify", good.toString(), "--weights", ckpt.toString(),
                "--device", "cpu");
        assertEquals(2, r.exit(), r.err());
        assertEquals(List.of("jresnet: error: " + ckpt + ": a training checkpoint (model weights, optimizer state and "
                + "progress of a `jresnet finetune` run), not a model: use the model that finetune wrote with --out (or "
                + "continue training: jresnet finetune ... --resume " + ckpt + ")"),
                r.err().lines().filter(l -> l.startsWith("jresnet: ")).toList(), r.err());
    }
}
