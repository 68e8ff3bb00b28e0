package dev.jresnet.train;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Polygon;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * Writes a small ImageFolder dataset of PNGs for tests and demos: six classes that differ in shape,
 * colour and texture, each drawn at a random place, size and angle over a random two-colour gradient
 * background, with a random distractor stroke and pixel noise, so that a network has something to learn
 * but cannot go by a single pixel. The files depend only on the arguments (and the JDK's Java2D
 * rasteriser and PNG encoder, which are deterministic).
 */
public final class SyntheticShapes {
    /** The class folder names, in ImageFolder (sorted) order. */
    public static final List<String> CLASSES = List.of(
            "blue_square", "checkered", "green_triangle", "noise_blob", "red_circle", "striped");

    static {
        // Offscreen drawing needs no display; without this a JDK started with DISPLAY set but unusable can fail.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private SyntheticShapes() {}

    /**
     * Writes {@code imagesPerClass} PNGs of {@code size} x {@code size} pixels into {@code root/CLASS/},
     * creating the folders; existing files of the same names are replaced. Returns the class names.
     */
    public static List<String> generate(Path root, int imagesPerClass, int size, long seed) throws IOException {
        if (imagesPerClass <= 0) {
            throw new IllegalArgumentException("images per class " + imagesPerClass + " must be positive");
        }
        if (size < 16 || size > 1024) {
            throw new IllegalArgumentException("image size " + size + " must be in 16..1024");
        }
        for (int c = 0; c < CLASSES.size(); c++) {
            Path dir = root.resolve(CLASSES.get(c));
            Files.createDirectories(dir);
            for (int i = 0; i < imagesPerClass; i++) {
                BufferedImage image = draw(CLASSES.get(c), size, SplitMix64.derive(seed, c, i));
                Path file = dir.resolve(String.format(Locale.ROOT, "%s_%04d.png", CLASSES.get(c), i));
                if (!ImageIO.write(image, "png", file.toFile())) {
                    throw new IOException("this JDK has no ImageIO PNG writer (writing " + file + ")");
                }
            }
        }
        return CLASSES;
    }

    static BufferedImage draw(String className, int size, RandomGenerator rng) {
        BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            background(g, size, rng);
            distractor(g, size, rng);
            double extent = size * (0.3 + 0.35 * rng.nextDouble());
            double cx = extent / 2 + rng.nextDouble() * (size - extent);
            double cy = extent / 2 + rng.nextDouble() * (size - extent);
            double angle = rng.nextDouble() * Math.PI * 2;
            Rectangle2D box = new Rectangle2D.Double(cx - extent / 2, cy - extent / 2, extent, extent);
            switch (className) {
                case "red_circle" -> {
                    g.setColor(jitter(new Color(210, 40, 40), rng));
                    g.fill(new Ellipse2D.Double(box.getX(), box.getY(), extent, extent));
                }
                case "blue_square" -> {
                    g.setColor(jitter(new Color(40, 70, 210), rng));
                    g.fill(rotated(box, angle, cx, cy));
                }
                case "green_triangle" -> {
                    g.setColor(jitter(new Color(40, 170, 60), rng));
                    g.fill(AffineTransform.getRotateInstance(angle, cx, cy).createTransformedShape(triangle(cx, cy, extent)));
                }
                case "striped" -> stripes(g, rotated(box, angle, cx, cy), box, angle, cx, cy, rng);
                case "checkered" -> checker(g, rotated(box, angle, cx, cy), box, angle, cx, cy, rng);
                case "noise_blob" -> noiseBlob(image, cx, cy, extent / 2, rng);
                default -> throw new IllegalArgumentException("unknown class " + className);
            }
        } finally {
            g.dispose();
        }
        addNoise(image, 6, rng);
        return image;
    }

    private static void background(Graphics2D g, int size, RandomGenerator rng) {
        Color a = muted(rng);
        Color b = muted(rng);
        g.setPaint(new java.awt.GradientPaint(0, (float) (rng.nextDouble() * size), a,
                size, (float) (rng.nextDouble() * size), b));
        g.fillRect(0, 0, size, size);
    }

    /** A thin line of random colour, so that colour alone is not a perfect cue. */
    private static void distractor(Graphics2D g, int size, RandomGenerator rng) {
        g.setColor(new Color(rng.nextInt(256), rng.nextInt(256), rng.nextInt(256)));
        g.setStroke(new BasicStroke(Math.max(1f, size / 40f)));
        g.drawLine(rng.nextInt(size), rng.nextInt(size), rng.nextInt(size), rng.nextInt(size));
    }

    private static void stripes(Graphics2D g, Shape region, Rectangle2D box, double angle, double cx, double cy,
                                RandomGenerator rng) {
        Color light = jitter(new Color(240, 220, 60), rng);
        Color dark = jitter(new Color(90, 30, 120), rng);
        double period = Math.max(4, box.getWidth() / (3 + rng.nextInt(4)));
        Graphics2D s = (Graphics2D) g.create();
        try {
            s.clip(region);
            s.rotate(angle, cx, cy);
            double reach = box.getWidth(); // covers the rotated box's corners
            int k = 0;
            for (double x = box.getX() - reach; x < box.getMaxX() + reach; x += period / 2, k++) {
                s.setColor(k % 2 == 0 ? light : dark);
                s.fill(new Rectangle2D.Double(x, box.getY() - reach, period / 2, box.getHeight() + 2 * reach));
            }
        } finally {
            s.dispose();
        }
    }

    private static void checker(Graphics2D g, Shape region, Rectangle2D box, double angle, double cx, double cy,
                                RandomGenerator rng) {
        Color light = jitter(new Color(235, 235, 235), rng);
        Color dark = jitter(new Color(25, 25, 25), rng);
        double cell = Math.max(3, box.getWidth() / (3 + rng.nextInt(4)));
        Graphics2D s = (Graphics2D) g.create();
        try {
            s.clip(region);
            s.rotate(angle, cx, cy);
            int n = (int) Math.ceil(box.getWidth() / cell) + 2;
            for (int i = -1; i < n; i++) {
                for (int j = -1; j < n; j++) {
                    s.setColor((i + j) % 2 == 0 ? light : dark);
                    s.fill(new Rectangle2D.Double(box.getX() + i * cell, box.getY() + j * cell, cell, cell));
                }
            }
        } finally {
            s.dispose();
        }
    }

    /** A disc of per-pixel random colours: a texture with no dominant hue. */
    private static void noiseBlob(BufferedImage image, double cx, double cy, double radius, RandomGenerator rng) {
        int size = image.getWidth();
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double dx = x + 0.5 - cx;
                double dy = y + 0.5 - cy;
                if (dx * dx + dy * dy <= radius * radius) {
                    image.setRGB(x, y, rng.nextInt(1 << 24));
                }
            }
        }
    }

    private static Shape rotated(Rectangle2D box, double angle, double cx, double cy) {
        return AffineTransform.getRotateInstance(angle, cx, cy).createTransformedShape(box);
    }

    private static Polygon triangle(double cx, double cy, double extent) {
        double r = extent / 2;
        Polygon p = new Polygon();
        for (int k = 0; k < 3; k++) {
            double a = -Math.PI / 2 + k * 2 * Math.PI / 3;
            p.addPoint((int) Math.round(cx + r * Math.cos(a)), (int) Math.round(cy + r * Math.sin(a)));
        }
        return p;
    }

    private static Color muted(RandomGenerator rng) {
        return new Color(60 + rng.nextInt(140), 60 + rng.nextInt(140), 60 + rng.nextInt(140));
    }

    private static Color jitter(Color c, RandomGenerator rng) {
        return new Color(clamp(c.getRed() + rng.nextInt(-30, 31)), clamp(c.getGreen() + rng.nextInt(-30, 31)),
                clamp(c.getBlue() + rng.nextInt(-30, 31)));
    }

    private static void addNoise(BufferedImage image, int amplitude, RandomGenerator rng) {
        int size = image.getWidth();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < size; x++) {
                int rgb = image.getRGB(x, y);
                int r = clamp(((rgb >> 16) & 0xff) + rng.nextInt(-amplitude, amplitude + 1));
                int gr = clamp(((rgb >> 8) & 0xff) + rng.nextInt(-amplitude, amplitude + 1));
                int b = clamp((rgb & 0xff) + rng.nextInt(-amplitude, amplitude + 1));
                image.setRGB(x, y, (r << 16) | (gr << 8) | b);
            }
        }
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }
}
