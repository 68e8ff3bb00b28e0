package dev.jresnet.weights;

import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link WeightSets#read} tells formats apart by their first bytes, down to the shortest file each test needs: what
 * it then says names the file and what the file is (an image or array given as weights, a training checkpoint, a
 * bare pickle), so that a user who passed the wrong file reads why.
 */
class WeightFileKindsTest {
    @TempDir
    Path tmp;

    private String refusal(String name, byte[] content) throws IOException {
        Path f = Files.write(tmp.resolve(name), content);
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> WeightSets.read(f));
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        return e.getMessage();
    }

    private static byte[] bytes(int... b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            r[i] = (byte) b[i];
        }
        return r;
    }

    @Test
    void imagesAndArraysAreNamedEvenAtTheirShortestHeader() throws IOException {
        String suffix = ", not a weights file (.pth, .safetensors or .onnx)";
        assertTrue(refusal("a.png", bytes(0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a)).endsWith(": a PNG image" + suffix));
        assertTrue(refusal("a.jpg", bytes(0xff, 0xd8, 0xff)).endsWith(": a JPEG image" + suffix));
        assertTrue(refusal("a.gif", "GIF89a".getBytes()).endsWith(": a GIF image" + suffix));
        assertTrue(refusal("a.gif8", "GIF8".getBytes()).endsWith(": a GIF image" + suffix));
        assertTrue(refusal("ii.tif", bytes('I', 'I', '*', 0)).endsWith(": a TIFF image" + suffix));
        assertTrue(refusal("mm.tif", bytes('M', 'M', 0, '*')).endsWith(": a TIFF image" + suffix));
        assertTrue(refusal("a.bmp", "BM".getBytes()).endsWith(": a BMP image" + suffix));
        assertTrue(refusal("a.npy", bytes(0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0)).endsWith(": a NumPy .npy array" + suffix));
        // one byte short of each signature (or one byte off) is an unknown format, shown in hex
        assertTrue(refusal("short.png", bytes(0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a)).contains("neither a torch.save zip"));
        assertTrue(refusal("short.jpg", bytes(0xff, 0xd8)).contains("first 2 bytes: ff d8"));
        assertTrue(refusal("notjpg", bytes(0xff, 0xd8, 0xfe)).contains("first 3 bytes: ff d8 fe"));
        assertTrue(refusal("notpng", bytes(0x89, 'P', 'N', 'X', 0, 0, 0, 0)).contains("89 50 4e 58 00 00 00 00"));
        assertTrue(refusal("notnpy", bytes(0x93, 'N', 'U', 'M', 'P', 'Z')).contains("neither"));
        assertTrue(refusal("notii", bytes('I', 'I', '*', 1)).contains("neither"));
        assertTrue(refusal("notmm", bytes('M', 'M', 1, '*')).contains("neither"));
    }

    @Test
    void unknownContentIsShownInHexUpToSixteenBytes() throws IOException {
        byte[] many = new byte[20];
        Arrays.fill(many, (byte) 0xab);
        String m = refusal("many.bin", many);
        assertTrue(m.contains("first 16 bytes: " + "ab ".repeat(15) + "ab"), m);
        assertFalse(m.contains("bare pickle"), m);
        m = refusal("legacy.pth", bytes(0x80, 2, 0x8a, 0x0a));
        assertTrue(m.contains("first 4 bytes: 80 02 8a 0a (a bare pickle: the legacy format of PyTorch < 1.6, not "
                + "supported; re-save it with a newer torch.save)"), m);
    }

    @Test
    void theShortestZipAndSafetensorsHeadersGoToTheirReaders() throws IOException {
        // "PK\3\4" alone is a zip that java.util.zip cannot open; eight length bytes and '{' a truncated safetensors
        String zip = refusal("four.pth", bytes('P', 'K', 3, 4));
        assertTrue(zip.contains("not a readable zip archive (torch.save format)"), zip);
        String st = refusal("nine.safetensors", bytes(1, 0, 0, 0, 0, 0, 0, 0, '{'));
        assertTrue(st.contains("malformed safetensors JSON header"), st);
        String notSt = refusal("eight", bytes(1, 0, 0, 0, 0, 0, 0, '{'));
        assertTrue(notSt.contains("neither"), notSt);
    }

    @Test
    void aTrainingCheckpointIsRefusedAsWeightsNamingTheFile() throws IOException {
        Path f = tmp.resolve("run.ckpt");
        WeightSet.Entry w = new WeightSet.Entry("fc.weight", DataType.F32, new Tensor(Shape.of(2), new float[] {1, 2}),
                null, new int[] {2});
        SafetensorsWriter.write(f, new WeightSet(null, Map.of("fc.weight", w), Map.of()), DataType.F32,
                Map.of(WeightSets.CHECKPOINT_KEY, "1"));
        TrainingCheckpointException e = assertThrows(TrainingCheckpointException.class, () -> WeightSets.read(f));
        assertEquals(f, e.file());
        assertTrue(e.getMessage().startsWith(f + ": a training checkpoint"), e.getMessage());
        // the same file without the key is a model
        SafetensorsWriter.write(f, new WeightSet(null, Map.of("fc.weight", w), Map.of()), DataType.F32,
                Map.of("other", "1"));
        assertEquals(Map.of("other", "1"), WeightSets.read(f).metadata());
        assertEquals(Map.of("other", "1"), SafetensorsReader.metadata(f));
    }
}
