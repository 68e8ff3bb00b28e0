package dev.jresnet.image;

import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PyTorchReference;
import dev.jresnet.testing.SetUpOnce;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Compares decoding, Resize, CenterCrop and ToTensor+Normalize with what PIL and torchvision produce
 * (weights/reference/pil_preprocess.py) on the sample photos and on synthetic images that the script
 * generates (upscaling, odd sizes, extreme aspect ratios, grey, grey+alpha, RGBA, palette, 1/2/16-bit).
 * Prints the agreement table that the project quotes.
 */
class PilAgreementTest {
    private static Path dir;
    private static final Map<String, List<Row>> byImage = new LinkedHashMap<>();

    record Row(String name, Path path, String mode, int width, int height, Preset preset, int resizedW, int resizedH, int crop) {}

    /**
     * The images write_synthetic in pil_preprocess.py makes, the two with a camera ICC profile included (borrowed
     * from samples/rocket.jpg), and the presets it runs: a manifest with fewer rows must not pass as agreement.
     */
    private static final int SYNTHETIC_IMAGES = 31;
    private static final List<String> PRESETS = List.of("torchvision-v1", "torchvision-v2");
    private static final List<String> samples = new ArrayList<>();
    private static int rows;

    private static final SetUpOnce SET_UP = new SetUpOnce(PilAgreementTest::runReference);

    /** Per test, not @BeforeAll: surefire shows a class-level skip as "0 tests", hiding the reason. */
    @BeforeEach
    void requireTorch() throws Exception {
        PyTorchReference.assumeAvailable();
        SET_UP.run();
    }

    private static void runReference() throws IOException {
        Path root = PyTorchReference.projectRoot();
        Path out = PyTorchReference.scratch("pil_preprocess");
        List<String> args = new ArrayList<>(List.of(out.toString(), "--synth"));
        try (Stream<Path> s = Files.list(root.resolve("samples"))) {
            s.filter(p -> p.toString().endsWith(".png") || p.toString().endsWith(".jpg")).sorted().forEach(p -> {
                args.add(p.toString());
                samples.add(p.getFileName().toString());
            });
        }
        PyTorchReference.run("pil_preprocess.py", args.toArray(String[]::new));
        for (String line : Files.readAllLines(out.resolve("manifest.tsv"))) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            Row r = new Row(f[0], Path.of(f[1]), f[2], Integer.parseInt(f[3]), Integer.parseInt(f[4]),
                    Preset.fromName(f[5]), Integer.parseInt(f[6]), Integer.parseInt(f[7]), Integer.parseInt(f[8]));
            byImage.computeIfAbsent(r.name, k -> new ArrayList<>()).add(r);
            rows++;
        }
        dir = out;
    }

    @Test
    void theReferenceCoversEveryImageWithEveryPreset() throws IOException {
        List<String> expected = new ArrayList<>(samples);
        try (Stream<Path> s = Files.list(dir.resolve("synth"))) {
            s.map(p -> p.getFileName().toString()).sorted().forEach(expected::add);
        }
        assertEquals(samples.size() + SYNTHETIC_IMAGES, expected.size(), "images: " + expected);
        assertEquals(expected.stream().sorted().toList(), byImage.keySet().stream().sorted().toList());
        for (Map.Entry<String, List<Row>> e : byImage.entrySet()) {
            assertEquals(PRESETS, e.getValue().stream().map(r -> r.preset().id()).toList(), e.getKey());
        }
        assertEquals(expected.size() * PRESETS.size(), rows, "manifest rows");
    }

    /** Pixel agreement of two images of the same size. */
    record Diff(int differingPixels, int max, double mean) {
        static Diff of(byte[] a, byte[] b) {
            if (a.length != b.length) {
                throw new AssertionError("sizes differ: " + a.length + " vs " + b.length + " bytes");
            }
            int differing = 0;
            int max = 0;
            long sum = 0;
            for (int i = 0; i < a.length; i += 3) {
                boolean d = false;
                for (int c = 0; c < 3; c++) {
                    int e = Math.abs((a[i + c] & 0xff) - (b[i + c] & 0xff));
                    max = Math.max(max, e);
                    sum += e;
                    d |= e != 0;
                }
                if (d) {
                    differing++;
                }
            }
            return new Diff(differing, max, (double) sum / a.length);
        }
    }

    @Test
    void agreesWithPilAndTorchvision() throws IOException {
        List<String> failures = new ArrayList<>();
        int compared = 0;
        StringBuilder table = new StringBuilder();
        table.append(String.format(Locale.ROOT, "%-34s %-5s %-10s %-15s %-14s %-9s %11s %4s %9s | %11s %4s %9s%n",
                "image", "mode", "size", "decode max/mean", "preset", "resized", "crop diffpx", "max", "tensor",
                "PIL-fed px", "max", "tensor"));
        for (Map.Entry<String, List<Row>> e : byImage.entrySet()) {
            String name = e.getKey();
            Row first = e.getValue().get(0);
            boolean jpeg = name.endsWith(".jpg");
            RgbImage javaDecoded = ImageDecoder.decode(first.path);
            byte[] pilBytes = Files.readAllBytes(dir.resolve(name + ".decoded.rgb"));
            RgbImage pilDecoded = new RgbImage(first.width, first.height, pilBytes);
            if (javaDecoded.width() != first.width || javaDecoded.height() != first.height) {
                failures.add(name + ": decoded " + javaDecoded.width() + "x" + javaDecoded.height() + ", PIL " + first.width + "x" + first.height);
                continue;
            }
            Diff decode = Diff.of(javaDecoded.pixels(), pilBytes);
            if (!jpeg && decode.max != 0) {
                failures.add(name + ": PNG decode differs from PIL by up to " + decode.max);
            }
            for (Row r : e.getValue()) {
                compared++;
                Preset p = r.preset;
                String base = name + "." + p.id();
                RgbImage pilResized = new RgbImage(r.resizedW, r.resizedH, Files.readAllBytes(dir.resolve(base + ".resized.rgb")));
                byte[] pilCropped = Files.readAllBytes(dir.resolve(base + ".cropped.rgb"));
                float[] torch = readFloats(dir.resolve(base + ".tensor.f32"));

                int[] wh = Resize.resizedSize(r.width, r.height, p.resizeSize());
                if (wh[0] != r.resizedW || wh[1] != r.resizedH) {
                    failures.add(base + ": resized size " + wh[0] + "x" + wh[1] + ", torchvision " + r.resizedW + "x" + r.resizedH);
                    continue;
                }
                // Java's resampling fed PIL's decoded pixels: isolates Resize/CenterCrop from decoder differences.
                RgbImage fedResized = Resize.resizeShorterSide(pilDecoded, p.resizeSize());
                Diff fedResize = Diff.of(fedResized.pixels(), pilResized.pixels());
                RgbImage fedCropped = Resize.centerCrop(fedResized, p.cropSize());
                Diff fedCrop = Diff.of(fedCropped.pixels(), pilCropped);
                double fedTensor = maxAbs(p.normalize(fedCropped), torch);

                RgbImage cropped = p.resizeAndCrop(javaDecoded);
                Diff crop = Diff.of(cropped.pixels(), pilCropped);
                double tensor = maxAbs(p.preprocess(javaDecoded), torch);

                if (fedResize.max > 0 || fedCrop.max > 0) {
                    failures.add(base + ": resampling PIL's own pixels differs by up to " + Math.max(fedResize.max, fedCrop.max)
                            + " (" + fedResize.differingPixels + " resized pixels)");
                }
                if (fedTensor > 1e-6) {
                    failures.add(base + ": tensor from PIL's crop differs by " + fedTensor);
                }
                // JPEG decoding is only reported above, but whatever the decoder, the network input must stay within a level.
                if (crop.max > 1 || (!jpeg && tensor > 1e-6)) {
                    failures.add(base + ": crop max diff " + crop.max + ", tensor max error " + tensor);
                }
                table.append(String.format(Locale.ROOT, "%-34s %-5s %-10s %-15s %-14s %-9s %11d %4d %9.2e | %11d %4d %9.2e%n",
                        name, r.mode, r.width + "x" + r.height,
                        decode.max + "/" + String.format(Locale.ROOT, "%.4f", decode.mean),
                        p.id(), r.resizedW + "x" + r.resizedH, crop.differingPixels, crop.max, tensor,
                        fedCrop.differingPixels, fedCrop.max, fedTensor));
            }
        }
        System.out.println("PIL/torchvision agreement (crop diffpx: pixels of the 224x224 crop that differ in any channel;"
                + " PIL-fed: Java resize/crop/normalize on PIL's decoded pixels)");
        System.out.print(table);
        assertTrue(failures.isEmpty(), "disagreements with PIL:\n" + String.join("\n", failures));
        assertEquals((samples.size() + SYNTHETIC_IMAGES) * PRESETS.size(), compared, "(image, preset) pairs compared");
    }

    private static float[] readFloats(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }

    private static double maxAbs(Tensor t, float[] ref) {
        float[] a = t.data();
        if (a.length != ref.length) {
            throw new AssertionError("tensor sizes differ: " + a.length + " vs " + ref.length);
        }
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - ref[i]));
        }
        return m;
    }
}
