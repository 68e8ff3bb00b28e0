package dev.jresnet.train;

import dev.jresnet.image.ImageFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A dataset in torchvision's {@code ImageFolder} layout, {@code root/CLASS/...}, read the way
 * torchvision 0.14 reads it so that class indices match a PyTorch run on the same folder:
 * <ul>
 *   <li>classes are the names of root's sub-folders (hidden ones included, as {@code os.scandir} lists
 *       them), sorted by code point as Python sorts strings; a class's index is its position;</li>
 *   <li>a class's images are the files anywhere below its folder (links followed) whose name ends in
 *       one of torchvision's {@code IMG_EXTENSIONS} in any case, ordered by (folder path, file name) as
 *       torchvision's {@code sorted(os.walk(...))} orders them. So the file list is torchvision's; the ones
 *       the decoder refuses (.ppm, .pgm, .webp) are skipped and listed by the loader, never dropped silently.</li>
 * </ul>
 */
public final class ImageFolder {
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif",
            ".tiff", ".webp");

    /** Python's string order (by code point); String.compareTo orders by UTF-16 unit, which differs above U+FFFF. */
    static final Comparator<String> PYTHON_ORDER = (a, b) -> {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    };

    private final Path root;
    private final List<String> classes;
    private final List<Sample> samples;

    private ImageFolder(Path root, List<String> classes, List<Sample> samples) {
        this.root = root;
        this.classes = classes;
        this.samples = samples;
    }

    /**
     * A training and a validation sample list over the same classes. Both lists are ordered by class,
     * then by path as {@link ImageFolder} orders files.
     */
    public record Split(List<String> classes, List<Sample> train, List<Sample> val) {
        public Split {
            classes = List.copyOf(classes);
            train = List.copyOf(train);
            val = List.copyOf(val);
        }
    }

    /** Reads the class folders and image files under {@code root}. */
    public static ImageFolder scan(Path root) throws IOException {
        Objects.requireNonNull(root, "root");
        if (!Files.exists(root)) {
            throw new InvalidDatasetException("dataset folder " + root + " does not exist");
        }
        if (!Files.isDirectory(root)) {
            throw new InvalidDatasetException("dataset root " + root + " is not a folder");
        }
        List<String> classes = classNames(root);
        if (classes.isEmpty()) {
            throw new InvalidDatasetException("dataset folder " + root
                    + " has no class folders (expected root/CLASS/image.jpg)");
        }
        List<Sample> samples = new ArrayList<>();
        for (int label = 0; label < classes.size(); label++) {
            Path dir = root.resolve(classes.get(label));
            List<Path> files = imageFiles(dir);
            if (files.isEmpty()) {
                throw new InvalidDatasetException("class folder " + dir + " holds no image file (" + String.join(" ", EXTENSIONS) + ")");
            }
            for (Path f : files) {
                samples.add(new Sample(f, label));
            }
        }
        return new ImageFolder(root, List.copyOf(classes), List.copyOf(samples));
    }

    /**
     * The train/validation split of the dataset at {@code root}. If {@code root/train} and {@code root/val}
     * both exist they are the split (each an ImageFolder, with the same classes) and {@code valFraction}
     * is not used; otherwise root itself is split by {@link StratifiedSplit} with {@code valFraction} and
     * {@code seed}.
     */
    public static Split split(Path root, double valFraction, long seed) throws IOException {
        StratifiedSplit.checkFraction(valFraction);
        Path trainDir = root.resolve("train");
        Path valDir = root.resolve("val");
        boolean hasTrain = Files.isDirectory(trainDir);
        boolean hasVal = Files.isDirectory(valDir);
        if (hasTrain && hasVal) {
            ImageFolder train = scan(trainDir);
            ImageFolder val = scan(valDir);
            requireSameClasses(train, val);
            return new Split(train.classes(), train.samples(), val.samples());
        }
        if (hasTrain || hasVal) {
            // A lone train/ (or val/) would otherwise silently become a class called "train".
            throw new InvalidDatasetException("dataset folder " + root + " has " + (hasTrain ? "train/" : "val/")
                    + " but no " + (hasTrain ? "val/" : "train/") + "; give both, or neither to split the classes under "
                    + root + " by fraction");
        }
        ImageFolder all = scan(root);
        return StratifiedSplit.split(all, valFraction, seed);
    }

    public Path root() {
        return root;
    }

    /** Class names; a sample's label indexes this list. */
    public List<String> classes() {
        return classes;
    }

    /** Every image, by class then path. */
    public List<Sample> samples() {
        return samples;
    }

    private static void requireSameClasses(ImageFolder train, ImageFolder val) throws InvalidDatasetException {
        if (train.classes().equals(val.classes())) {
            return;
        }
        TreeSet<String> onlyTrain = new TreeSet<>(PYTHON_ORDER);
        onlyTrain.addAll(train.classes());
        val.classes().forEach(onlyTrain::remove);
        TreeSet<String> onlyVal = new TreeSet<>(PYTHON_ORDER);
        onlyVal.addAll(val.classes());
        train.classes().forEach(onlyVal::remove);
        throw new InvalidDatasetException("the class folders of " + train.root() + " and " + val.root()
                + " differ (labels would not line up): only in train: " + onlyTrain + "; only in val: " + onlyVal);
    }

    private static List<String> classNames(Path root) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
            for (Path p : entries) {
                if (Files.isDirectory(p)) {
                    names.add(p.getFileName().toString());
                }
            }
        }
        names.sort(PYTHON_ORDER);
        return names;
    }

    private static List<Path> imageFiles(Path dir) throws IOException {
        Comparator<Path> order = Comparator.<Path, String>comparing(p -> p.getParent().toString(), PYTHON_ORDER)
                .thenComparing(p -> p.getFileName().toString(), PYTHON_ORDER);
        try (Stream<Path> walk = Files.walk(dir, FileVisitOption.FOLLOW_LINKS)) {
            // Not only regular files: a named pipe or a broken link named like an image stays a sample, which the
            // loader then skips and lists ("is not a regular file"), instead of vanishing unexplained.
            return walk.filter(ImageFolder::hasImageExtension)
                    .filter(p -> !Files.isDirectory(p))
                    .sorted(order)
                    .toList();
        } catch (UncheckedIOException e) {
            throw new InvalidDatasetException("cannot list the images under " + dir + ": " + e.getCause().getMessage(),
                    e.getCause());
        }
    }

    static boolean hasImageExtension(Path p) {
        return ImageFiles.hasExtension(p, EXTENSIONS);
    }
}
