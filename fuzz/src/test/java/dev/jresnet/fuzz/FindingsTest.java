package dev.jresnet.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jresnet.image.ImageDecodeException;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.onnx.OnnxFormatException;
import dev.jresnet.onnx.OnnxImporter;
import dev.jresnet.weights.PthReader;
import dev.jresnet.weights.WeightFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * One named test per fuzzing finding, on the input the fuzzer saved (resources dev/jresnet/fuzz/findings/): the
 * reader must reject it with its documented exception, naming the file, within 2 s. A copy of each input is also in
 * its target's inputs folder, so that every fuzz run starts from it.
 */
class FindingsTest {

    /**
     * PickleFuzzTest (16 s): EMPTY_DICTs nested through SETITEM, each the KEY of the next. Hashing a dict key recurses
     * through its entries (PickleReader.run, {@code dict(peek()).put(k, v)}): StackOverflowError at any -Xss, and a
     * dict made its own key through the memo recurses forever. Python refuses: dicts and lists are unhashable.
     */
    @Test
    void pickleDictAsDictKey() {
        assertPthRejected("pickle-dict-as-dict-key.pkl");
    }

    /** PickleFuzzTest: the same through SETITEMS/DICT (PickleReader.toDict, {@code d.put(items[i], ...)}). */
    @Test
    void pickleDictAsDictKeySetitems() {
        assertPthRejected("pickle-dict-as-dict-key-setitems.pkl");
    }

    /**
     * OnnxFuzzTest (27 s): torch.onnx.export's file with a NodeProto attribute (field 5) turned from length-delimited
     * into a varint; ProtoReader.Field.message() dereferences the null slice: NullPointerException in parseNode.
     */
    @Test
    void onnxAttributeNotLengthDelimited() {
        assertOnnxRejected("onnx-attribute-not-length-delimited.onnx");
    }

    /** OnnxFuzzTest: the same for a node's input name (field 1): NullPointerException in Field.string(). */
    @Test
    void onnxNodeInputNotLengthDelimited() {
        assertOnnxRejected("onnx-node-input-not-length-delimited.onnx");
    }

    /**
     * OnnxFuzzTest: a Gemm node with one input (the seed's Relu renamed Gemm): OnnxImporter.toWeights reads
     * {@code n.inputs.get(1)}: IndexOutOfBoundsException.
     */
    @Test
    void onnxGemmOneInput() {
        assertOnnxRejected("onnx-gemm-one-input.onnx");
    }

    /**
     * PthFuzzTest (CI, 26 s): a zip whose central directory is cut short: {@code new ZipFile} throws an EOFException
     * without a message, which PthReader let through; it is a WeightFormatException naming the file now.
     */
    @Test
    void pthTruncatedCentralDirectory() {
        Path pth = Hostile.file("pth-truncated-central-directory.pth", resource("pth-truncated-central-directory.pth"));
        assertRejected(pth, WeightFormatException.class, () -> PthReader.read(pth));
    }

    /**
     * ImageFuzzTest (one CI run): a 207-byte mutation of a JPEG seed declaring 1040x23372 pixels, 24 MP, whose decode
     * (0.1-0.5 s plainly: work per pixel, not per byte) overran the 10 s bound per input under coverage
     * instrumentation on a busy machine. The fuzzed JVMs bound images at 8 MP (pom.xml, fuzz.imagePixels): such an
     * input is now refused at its header, in one line naming the limit, and no valid image is slower than the bound.
     */
    @Test
    void anImageOfManyPixelsIsRefusedAtItsHeaderInTheFuzzedJvm() throws IOException {
        byte[] jpeg;
        try (InputStream in = FindingsTest.class.getResourceAsStream(
                "ImageFuzzTestInputs/decode/fuzzed-jpeg-slow-under-load.jpg")) {
            jpeg = in.readAllBytes();
        }
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> assertTimeoutPreemptively(Duration.ofSeconds(2), () -> ImageDecoder.decode(jpeg, "slow.jpg")));
        assertTrue(e.getMessage().contains("exceeds the limit of 8000000")
                && e.getMessage().contains("jresnet.limit.imagePixels"), e.getMessage());
    }

    private static void assertPthRejected(String pickle) {
        Path pth = Hostile.file(pickle.replace(".pkl", ".pth"), pth(resource(pickle)));
        assertRejected(pth, WeightFormatException.class, () -> PthReader.read(pth));
    }

    private static void assertOnnxRejected(String name) {
        Path onnx = Hostile.file(name, resource(name));
        assertRejected(onnx, OnnxFormatException.class, () -> OnnxImporter.read(onnx));
    }

    private static void assertRejected(Path file, Class<? extends IOException> type, Executable read) {
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(2), () -> assertThrows(type, read));
        assertTrue(e.getMessage().contains(file.toString()), "the message names the file: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    static byte[] resource(String name) {
        try (InputStream in = FindingsTest.class.getResourceAsStream("findings/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource findings/" + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A torch.save-style zip (stored entries, archive/ prefix) around {@code pickle} as data.pkl, with no storages. */
    static byte[] pth(byte[] pickle) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
                stored(zip, "archive/data.pkl", pickle);
                stored(zip, "archive/byteorder", "little".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                stored(zip, "archive/version", "3\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }
}
