package dev.jresnet.resnet;

import dev.jresnet.graph.Architecture;
import dev.jresnet.image.ImageDecodeException;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;
import dev.jresnet.nn.Linear;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PyTorchReference;
import dev.jresnet.testing.TestImages;
import dev.jresnet.testing.TestNets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Features, batches built from images, and the in-memory inputs (bytes, streams, BufferedImage) on the CPU. */
class ResNetFeaturesTest {
    /**
     * The default path's features against the reference's, relative L2: measured 3e-8 (layer1) to 3.3e-7 (layer4),
     * Winograd's F(2x2, 3x3) in layer1-3 being the only difference (the direct convolution is bit for bit).
     */
    private static final double FEATURES_BOUND = 2e-6;

    private static final Path SAMPLES = PyTorchReference.projectRoot().resolve("samples");
    private static ResNet model;
    private static List<RgbImage> images;

    @BeforeAll
    static void load() throws IOException {
        model = ResNet.untrained(7, Device.cpu());
        // a PNG, a JPEG and a synthetic non-square image: three different crops
        images = List.of(ImageDecoder.decode(SAMPLES.resolve("chelsea.png")),
                ImageDecoder.decode(SAMPLES.resolve("rocket.jpg")), TestImages.gradient(300, 200));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void preprocessOfAListStacksTheSingleImagesBitForBit() {
        Tensor batch = model.preprocess(images);
        assertArrayEquals(new int[] {3, 3, 224, 224}, batch.shape().dims());
        int per = 3 * 224 * 224;
        for (int i = 0; i < images.size(); i++) {
            float[] one = model.preprocess(images.get(i)).data();
            assertArrayEquals(one, Arrays.copyOfRange(batch.data(), i * per, (i + 1) * per), "image " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> model.preprocess(List.<RgbImage>of()));
        assertEquals(0, model.features(List.<RgbImage>of()).length);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> model.preprocess(Arrays.asList(images.get(0), null)));
        assertEquals("image 1 is null", e.getMessage());
    }

    @Test
    void featuresThroughTheClassifierAreTheLogits() {
        Tensor batch = model.preprocess(images);
        float[][] features = model.features(batch);
        float[][] logits = model.logits(batch);
        assertEquals(2048, model.featureSize());
        assertEquals(images.size(), features.length);
        Linear fc = model.network().spec().classifier();
        float[] w = model.network().tensor(fc.weight()).data(); // [1000, 2048]
        float[] b = model.network().tensor(fc.bias()).data();
        for (int i = 0; i < features.length; i++) {
            assertEquals(2048, features[i].length);
            double num = 0, den = 0;
            for (int c = 0; c < 1000; c++) {
                double v = b[c];
                for (int f = 0; f < 2048; f++) {
                    v += (double) features[i][f] * w[c * 2048 + f];
                }
                num += (v - logits[i][c]) * (v - logits[i][c]);
                den += v * v;
            }
            double rel = Math.sqrt(num / den);
            assertTrue(rel < 1e-5, "image " + i + ": features · fcᵀ + b differs from the logits by " + rel);
        }
        // features of the list (cropped as it goes) are those of its preprocessed batch
        float[][] ofImages = model.features(images);
        for (int i = 0; i < features.length; i++) {
            assertArrayEquals(features[i], ofImages[i], "image " + i);
        }
    }

    @Test
    void aStagesFeaturesAreItsOutputOfTheReferencePooled() {
        Tensor batch = model.preprocess(images);
        dev.jresnet.nn.NetworkSpec spec = model.network().spec();
        int[] widths = {256, 512, 1024, 2048};
        FeatureLayer[] layers = {FeatureLayer.LAYER1, FeatureLayer.LAYER2, FeatureLayer.LAYER3, FeatureLayer.LAYER4};
        for (int k = 0; k < layers.length; k++) {
            FeatureLayer layer = layers[k];
            assertEquals(widths[k], model.featureSize(layer), layer.id());
            float[][] ours = model.features(batch, layer);
            // the reference walk of the plain description up to the stage's end, then averaged over H and W
            int end = spec.stages().get(spec.stages().indexOf(spec.stage(layer.stage())) + 1).firstStep();
            Tensor stage = dev.jresnet.graph.CpuReference.run(spec, model.network().tensors(), batch, 0, end);
            assertEquals(56 >> k, stage.dim(2), layer + " output [N, C, H, W]: 56, 28, 14, 7 at 224");
            Tensor pooled = Tensor.zeros(stage.dim(0), stage.dim(1));
            dev.jresnet.cpu.CpuOps.globalAvgPool(pooled, stage);
            for (int i = 0; i < images.size(); i++) {
                assertEquals(widths[k], ours[i].length);
                float[] want = Arrays.copyOfRange(pooled.data(), i * widths[k], (i + 1) * widths[k]);
                double err = TestNets.relL2(ours[i], want);
                // The default path runs layer1-3's 3x3 convolutions by Winograd's F(2x2, 3x3): not bit for bit.
                assertTrue(err <= FEATURES_BOUND, layer + " of image " + i + ": relative L2 " + err
                        + " against the reference");
            }
            // from images (cropped as it goes) and from crops: the same rows
            float[][] ofImages = model.features(images, layer);
            float[][] ofCrops = model.featuresOfCrops(images.stream().map(model::crop).toList(), layer);
            for (int i = 0; i < images.size(); i++) {
                assertArrayEquals(ours[i], ofImages[i], layer + " of image " + i);
                assertArrayEquals(ours[i], ofCrops[i], layer + " of crop " + i);
            }
        }
        float[][] pool = model.features(batch, FeatureLayer.POOL);
        float[][] layer4 = model.features(batch, FeatureLayer.LAYER4);
        float[][] plain = model.features(batch);
        for (int i = 0; i < images.size(); i++) {
            assertArrayEquals(plain[i], pool[i], "pool is the classifier's input");
            assertArrayEquals(pool[i], layer4[i], "layer4 pooled is pool");
        }
        assertFalse(Arrays.equals(model.features(batch, FeatureLayer.LAYER3)[0],
                Arrays.copyOf(pool[0], 1024)), "layer3 is not a prefix of pool");
    }

    @Test
    void featureLayersAreNamedAsTheCliNamesThem() {
        assertEquals(FeatureLayer.LAYER3, FeatureLayer.fromId("layer3"));
        assertEquals(FeatureLayer.POOL, FeatureLayer.fromId(" POOL "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FeatureLayer.fromId("fc"));
        assertEquals("unknown feature layer \"fc\": use one of pool, layer1, layer2, layer3, layer4", e.getMessage());
        assertThrows(NullPointerException.class, () -> model.features(images, null));
    }

    @Test
    void featureSizeFollowsTheArchitecture() throws IOException {
        try (ResNet r18 = ResNet.builder().architecture(Architecture.RESNET18).build()) {
            assertEquals(512, r18.featureSize());
            assertEquals(512, r18.features(ResNetTest.randomInput(1, 64, 2))[0].length);
            assertEquals(256, r18.featureSize(FeatureLayer.LAYER3));
            assertEquals(64, r18.features(ResNetTest.randomInput(2, 64, 2), FeatureLayer.LAYER1)[1].length);
        }
    }

    @Test
    void bytesAndStreamsDecodeAsTheFile() throws IOException {
        for (String name : List.of("chelsea.png", "rocket.jpg")) {
            Path file = SAMPLES.resolve(name);
            RgbImage fromFile = ImageDecoder.decode(file);
            byte[] bytes = Files.readAllBytes(file);
            assertEquals(fromFile.width(), ImageDecoder.decode(bytes, name).width());
            assertArrayEquals(fromFile.pixels(), ImageDecoder.decode(bytes, name).pixels(), name);
            try (InputStream in = Files.newInputStream(file)) {
                assertArrayEquals(fromFile.pixels(), ImageDecoder.decode(in).pixels(), name);
            }
        }
        ImageDecodeException bad = assertThrows(ImageDecodeException.class,
                () -> ImageDecoder.decode(new ByteArrayInputStream("GIF89a".getBytes()), "upload.gif"));
        assertTrue(bad.getMessage().startsWith("upload.gif: "), bad.getMessage());
        InputStream failing = new InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("connection reset");
            }
        };
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(failing));
        assertEquals("<stream>: cannot read the stream: connection reset", e.getMessage());
    }

    @Test
    void aBufferedImageIsClassifiedAsItsFile() throws IOException {
        Path file = SAMPLES.resolve("chelsea.png");
        BufferedImage loaded = ImageIO.read(file.toFile());
        RgbImage fromFile = ImageDecoder.decode(file);
        assertArrayEquals(fromFile.pixels(), ImageDecoder.decode(loaded).pixels());
        assertEquals(model.classify(fromFile, 5), model.classify(loaded, 5));

        // packed 5-6-5 fields are scaled as PIL scales a 16-bit BMP's, v * 255 / max truncated (getRGB rounds)
        BufferedImage packed = new BufferedImage(3, 2, BufferedImage.TYPE_USHORT_565_RGB);
        packed.setRGB(1, 1, 0xff8040);  // stored as 31, 32, 8
        RgbImage p = ImageDecoder.decode(packed);
        assertArrayEquals(new byte[] {(byte) 255, (byte) (32 * 255 / 63), (byte) (8 * 255 / 31)},
                Arrays.copyOfRange(p.pixels(), (3 + 1) * 3, (3 + 1) * 3 + 3));
        assertEquals(130, packed.getRGB(1, 1) >> 8 & 0xff, "getRGB rounds 32/63 up, to 130; PIL's 129");
        assertThrows(IllegalArgumentException.class, () -> ImageDecoder.decode((BufferedImage) null));
    }
}
