package dev.jresnet.train;

import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.Preset;
import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PyTorchReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static dev.jresnet.testing.TestImages.gradient;

class AugmentationTest {
    @TempDir
    Path tmp;

    @Test
    void boxesStayInRange() {
        RandomResizedCrop rrc = new RandomResizedCrop(224);
        int[][] sizes = {{500, 375}, {64, 64}, {1000, 200}, {37, 300}, {1, 1}, {3, 2}};
        SplitMix64 rng = new SplitMix64(1);
        int random = 0;
        for (int[] wh : sizes) {
            int w = wh[0];
            int h = wh[1];
            for (int k = 0; k < 5000; k++) {
                RandomResizedCrop.Params p = rrc.sample(w, h, rng);
                assertTrue(p.width() > 0 && p.height() > 0 && p.left() >= 0 && p.top() >= 0
                        && p.left() + p.width() <= w && p.top() + p.height() <= h, p + " in " + w + "x" + h);
                if (!p.fallback()) {
                    random++;
                    // Rounding each side to whole pixels moves area and ratio a little past the sampled ranges.
                    double area = (double) p.width() * p.height() / ((double) w * h);
                    double slackW = 1.0 / p.width();
                    double slackH = 1.0 / p.height();
                    assertTrue(area <= 1 && area >= 0.08 * (1 - slackW) * (1 - slackH), p + " area " + area);
                    double ratio = (double) p.width() / p.height();
                    assertTrue(ratio >= 0.75 * (1 - slackW) / (1 + slackH) && ratio <= 4.0 / 3 * (1 + slackW) / (1 - slackH),
                            p + " ratio " + ratio);
                }
            }
        }
        assertTrue(random > 20000, "most boxes should come from the random tries, got " + random);
    }

    @Test
    void sameSeedSameBoxes() {
        RandomResizedCrop rrc = new RandomResizedCrop(224);
        SplitMix64 a = new SplitMix64(77);
        SplitMix64 b = new SplitMix64(77);
        SplitMix64 c = new SplitMix64(78);
        boolean differs = false;
        for (int k = 0; k < 200; k++) {
            RandomResizedCrop.Params pa = rrc.sample(640, 480, a);
            assertEquals(pa, rrc.sample(640, 480, b));
            differs |= !pa.equals(rrc.sample(640, 480, c));
        }
        assertTrue(differs);
    }

    @Test
    void extremeAspectFallsBackToTheCentralCrop() {
        RandomResizedCrop rrc = new RandomResizedCrop(224);
        SplitMix64 rng = new SplitMix64(3);
        // 1000x10: even 8% of the area at ratio 4/3 needs a side of 24 px, so all ten tries fail.
        for (int k = 0; k < 100; k++) {
            assertEquals(new RandomResizedCrop.Params(0, 493, 10, 13, true), rrc.sample(1000, 10, rng));
            assertEquals(new RandomResizedCrop.Params(493, 0, 13, 10, true), rrc.sample(10, 1000, rng));
        }
        RgbImage out = rrc.apply(gradient(1000, 10), rng);
        assertEquals(224, out.width());
        assertEquals(224, out.height());
    }

    /** One run of the reference script (importing torch dominates the time) for both checks. */
    @Test
    void cropResizeFlipAndFallbackMatchTorchvision() throws IOException {
        PyTorchReference.assumeAvailable();
        RgbImage image = gradient(173, 129);
        Path png = writePng(image);
        RandomResizedCrop rrc = new RandomResizedCrop(224);
        SplitMix64 rng = new SplitMix64(11);
        List<RandomResizedCrop.Params> boxes = new ArrayList<>();
        List<String> args = new ArrayList<>(List.of(tmp.resolve("ref").toString(), png.toString(), "224"));
        for (int k = 0; k < 8; k++) {
            RandomResizedCrop.Params p = rrc.sample(image.width(), image.height(), rng);
            boxes.add(p);
            args.add(p.top() + "," + p.left() + "," + p.height() + "," + p.width() + "," + k % 2);
        }
        // Extreme aspect ratios where every random try fails, so torchvision's box is its fallback whatever it draws.
        String[] extremes = {"1000x10", "10x1000", "2000x50", "37x900", "901x31"};
        args.add("--fallback");
        args.addAll(List.of(extremes));
        String out = PyTorchReference.run("resized_crop.py", args.toArray(String[]::new));

        for (int k = 0; k < boxes.size(); k++) {
            RgbImage ours = rrc.apply(image, boxes.get(k));
            if (k % 2 == 1) {
                ours = Augmentation.flipHorizontally(ours);
            }
            byte[] ref = Files.readAllBytes(tmp.resolve("ref/box" + k + ".rgb"));
            assertArrayEquals(ref, ours.pixels(), "box " + boxes.get(k) + " flip " + (k % 2 == 1));
        }
        List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
        assertEquals(extremes.length, lines.size(), out);
        for (String line : lines) {
            int[] v = java.util.Arrays.stream(line.trim().split(" ")).mapToInt(Integer::parseInt).toArray();
            RandomResizedCrop.Params p = rrc.sample(v[0], v[1], new SplitMix64(0));
            assertTrue(p.fallback(), line);
            assertArrayEquals(new int[] {v[2], v[3], v[4], v[5]}, new int[] {p.top(), p.left(), p.height(), p.width()}, line);
        }
    }

    @Test
    void flipMirrorsRows() {
        RgbImage img = gradient(5, 3);
        RgbImage f = Augmentation.flipHorizontally(img);
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 5; x++) {
                for (int c = 0; c < 3; c++) {
                    assertEquals(img.get(4 - x, y, c), f.get(x, y, c));
                }
            }
        }
        assertArrayEquals(img.pixels(), Augmentation.flipHorizontally(f).pixels());
    }

    @Test
    void augmentationIsTheCropThenAFairFlip() {
        RgbImage img = gradient(300, 200);
        Augmentation aug = new Augmentation(224);
        int flipped = 0;
        int n = 200;
        for (int seed = 0; seed < n; seed++) {
            RgbImage out = aug.apply(img, new SplitMix64(seed));
            assertEquals(224, out.width());
            assertEquals(224, out.height());
            // Replaying the same draws: the crop first, then the flip draw.
            SplitMix64 replay = new SplitMix64(seed);
            RgbImage crop = aug.crop().apply(img, replay);
            boolean flip = replay.nextFloat() < 0.5;
            assertArrayEquals((flip ? Augmentation.flipHorizontally(crop) : crop).pixels(), out.pixels());
            if (flip) {
                flipped++;
                assertFalse(java.util.Arrays.equals(crop.pixels(), out.pixels()), "a flip of a gradient must change it");
            }
        }
        assertTrue(flipped > n / 4 && flipped < 3 * n / 4, "flipped " + flipped + " of " + n);
    }

    @Test
    void transformsGiveNormalisedTensors() {
        RgbImage img = gradient(300, 200);
        Tensor eval = Transforms.eval(Preset.TORCHVISION_V1).apply(img, new SplitMix64(0));
        eval.require("eval", 3, 224, 224);
        assertArrayEquals(Preset.TORCHVISION_V1.preprocess(img).data(), eval.data());

        Function<RgbImage, Tensor> train = Transforms.train(Preset.TORCHVISION_V2, new SplitMix64(5));
        Tensor t1 = train.apply(img).require("train", 3, 224, 224);
        Tensor again = Transforms.train(Preset.TORCHVISION_V2, new SplitMix64(5)).apply(img);
        assertArrayEquals(t1.data(), again.data());
        Tensor t2 = train.apply(img);
        assertFalse(java.util.Arrays.equals(t1.data(), t2.data()), "the bound generator advances between calls");
    }

    @Test
    void badParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new RandomResizedCrop(0));
        assertThrows(IllegalArgumentException.class, () -> new RandomResizedCrop(224, 0.5, 0.1, 0.75, 1.33));
        assertThrows(IllegalArgumentException.class, () -> new RandomResizedCrop(224, 0.1, 1.5, 0.75, 1.33));
        assertThrows(IllegalArgumentException.class, () -> new RandomResizedCrop(224, 0.1, 1, 2, 1));
        assertThrows(IllegalArgumentException.class, () -> new Augmentation(new RandomResizedCrop(224), 1.5));
        assertThrows(IllegalArgumentException.class,
                () -> new RandomResizedCrop(224).apply(gradient(10, 10), new RandomResizedCrop.Params(5, 5, 6, 5, false)));
    }

    private Path writePng(RgbImage img) throws IOException {
        java.awt.image.BufferedImage b = new java.awt.image.BufferedImage(img.width(), img.height(),
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.height(); y++) {
            for (int x = 0; x < img.width(); x++) {
                b.setRGB(x, y, (img.get(x, y, 0) << 16) | (img.get(x, y, 1) << 8) | img.get(x, y, 2));
            }
        }
        Path p = tmp.resolve("img.png");
        javax.imageio.ImageIO.write(b, "png", p.toFile());
        // Sanity: what Python will read is what we crop.
        assertArrayEquals(img.pixels(), ImageDecoder.decode(p).pixels());
        return p;
    }
}
