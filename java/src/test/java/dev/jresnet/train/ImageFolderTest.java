package dev.jresnet.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageFolderTest {
    @TempDir
    Path tmp;

    /** Empty files are enough: ImageFolder lists files, it never decodes them. */
    private static void touch(Path root, String... relative) throws IOException {
        for (String r : relative) {
            Path p = root.resolve(r);
            Files.createDirectories(p.getParent());
            Files.write(p, new byte[0]);
        }
    }

    private static List<String> relative(Path root, List<Sample> samples) {
        return samples.stream().map(s -> root.relativize(s.file()).toString() + "=" + s.label()).toList();
    }

    @Test
    void classesAndFilesFollowTorchvisionOrder() throws IOException {
        touch(tmp, "dog/b.JPG", "dog/a.png", "dog/sub/c.jpeg", "dog/notes.txt", "dog/d.bmp",
                "dog/f.gif", "dog/g.WebP", "Cat/x.PNG", "cat/y.jpg", "ant/z.Jpeg");
        Files.createDirectories(tmp.resolve("dog/e.jpg.d")); // a folder with an image-like name is not an image
        Files.write(tmp.resolve("stray.jpg"), new byte[0]);   // files in the root are not a class
        ImageFolder f = ImageFolder.scan(tmp);
        // torchvision's IMG_EXTENSIONS: .bmp and .webp are images (a .webp is then refused by the decoder and
        // listed), .gif is not.
        // Code-point order: upper case before lower case, as Python's sorted().
        assertEquals(List.of("Cat", "ant", "cat", "dog"), f.classes());
        assertEquals(List.of("Cat/x.PNG=0", "ant/z.Jpeg=1", "cat/y.jpg=2", "dog/a.png=3", "dog/b.JPG=3", "dog/d.bmp=3",
                        "dog/g.WebP=3", "dog/sub/c.jpeg=3"),
                relative(tmp, f.samples()));
    }

    @Test
    void classOrderIsByCodePointLikePython() {
        // U+FF21 (fullwidth A) is one UTF-16 unit above the surrogates; U+1F600 is two units starting at 0xD83D.
        // Python puts "\uFF21" before "\U0001F600"; String.compareTo would not.
        List<String> names = new ArrayList<>(List.of("\uD83D\uDE00", "\uFF21", "b"));
        names.sort(ImageFolder.PYTHON_ORDER);
        assertEquals(List.of("b", "\uFF21", "\uD83D\uDE00"), names);
    }

    @Test
    void splitIsDeterministicAndStratified() throws IOException {
        int[] counts = {10, 7, 2, 1, 25};
        for (int c = 0; c < counts.length; c++) {
            for (int i = 0; i < counts[c]; i++) {
                touch(tmp, "class" + c + "/img" + i + ".png");
            }
        }
        ImageFolder.Split a = ImageFolder.split(tmp, 0.2, 42);
        ImageFolder.Split b = ImageFolder.split(tmp, 0.2, 42);
        assertEquals(a, b);
        // round(0.2 n), at least one for n >= 2, none for a single file: 2, 1 (1.4), 1 (0.4 -> 1), 0, 5
        int[] expectedVal = {2, 1, 1, 0, 5};
        for (int c = 0; c < counts.length; c++) {
            int label = c;
            long val = a.val().stream().filter(s -> s.label() == label).count();
            long train = a.train().stream().filter(s -> s.label() == label).count();
            assertEquals(expectedVal[c], val, "class " + c);
            assertEquals(counts[c], val + train, "class " + c);
        }
        Set<Path> seen = new HashSet<>();
        a.train().forEach(s -> assertTrue(seen.add(s.file())));
        a.val().forEach(s -> assertTrue(seen.add(s.file()), "in both halves: " + s));
        assertEquals(45, seen.size());

        ImageFolder.Split other = ImageFolder.split(tmp, 0.2, 43);
        assertNotEquals(a.val(), other.val(), "another seed should pick other validation files");
        assertEquals(a.val().size(), other.val().size());

        ImageFolder.Split none = ImageFolder.split(tmp, 0.0, 42);
        assertTrue(none.val().isEmpty());
        assertEquals(45, none.train().size());
    }

    @Test
    void splitDoesNotDependOnFileCreationOrder() throws IOException {
        List<String> names = new ArrayList<>();
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 12; i++) {
                names.add("c" + c + "/f" + i + ".jpg");
            }
        }
        Path one = tmp.resolve("one");
        Path two = tmp.resolve("two");
        touch(one, names.toArray(String[]::new));
        Collections.shuffle(names, new Random(5));
        touch(two, names.toArray(String[]::new));
        ImageFolder.Split a = ImageFolder.split(one, 0.25, 9);
        ImageFolder.Split b = ImageFolder.split(two, 0.25, 9);
        assertEquals(relative(one, a.val()), relative(two, b.val()));
        assertEquals(relative(one, a.train()), relative(two, b.train()));
    }

    @Test
    void addingAClassLeavesTheOtherSplitsAlone() throws IOException {
        for (int i = 0; i < 20; i++) {
            touch(tmp, "b/" + i + ".png", "c/" + i + ".png");
        }
        List<String> before = relative(tmp, ImageFolder.split(tmp, 0.3, 1).val());
        for (int i = 0; i < 20; i++) {
            touch(tmp, "a/" + i + ".png");
        }
        List<String> after = relative(tmp, ImageFolder.split(tmp, 0.3, 1).val()).stream()
                .filter(s -> !s.startsWith("a/"))
                // labels shift by one with the new first class; the files must not
                .map(s -> s.substring(0, s.indexOf('=')))
                .toList();
        assertEquals(before.stream().map(s -> s.substring(0, s.indexOf('='))).toList(), after);
    }

    @Test
    void trainAndValFoldersAreUsedAsGiven() throws IOException {
        touch(tmp, "train/cat/1.jpg", "train/cat/2.jpg", "train/dog/3.jpg", "val/cat/4.jpg", "val/dog/5.png", "val/dog/6.png");
        ImageFolder.Split s = ImageFolder.split(tmp, 0.5, 0);
        assertEquals(List.of("cat", "dog"), s.classes());
        assertEquals(List.of("train/cat/1.jpg=0", "train/cat/2.jpg=0", "train/dog/3.jpg=1"), relative(tmp, s.train()));
        assertEquals(List.of("val/cat/4.jpg=0", "val/dog/5.png=1", "val/dog/6.png=1"), relative(tmp, s.val()));
    }

    @Test
    void trainAndValMustHaveTheSameClasses() throws IOException {
        touch(tmp, "train/cat/1.jpg", "train/dog/2.jpg", "val/cat/3.jpg", "val/eel/4.jpg");
        InvalidDatasetException e = assertThrows(InvalidDatasetException.class, () -> ImageFolder.split(tmp, 0.1, 0));
        assertTrue(e.getMessage().contains("only in train: [dog]"), e.getMessage());
        assertTrue(e.getMessage().contains("only in val: [eel]"), e.getMessage());
    }

    @Test
    void loneTrainFolderIsAnError() throws IOException {
        touch(tmp, "train/cat/1.jpg", "dog/2.jpg");
        InvalidDatasetException e = assertThrows(InvalidDatasetException.class, () -> ImageFolder.split(tmp, 0.1, 0));
        assertTrue(e.getMessage().contains("no val/"), e.getMessage());
    }

    @Test
    void badLayoutsGiveErrorsNamingTheFolder() throws IOException {
        Path missing = tmp.resolve("nope");
        InvalidDatasetException e1 = assertThrows(InvalidDatasetException.class, () -> ImageFolder.scan(missing));
        assertTrue(e1.getMessage().contains(missing.toString()) && e1.getMessage().contains("does not exist"), e1.getMessage());

        Path flat = tmp.resolve("flat");
        touch(flat, "a.jpg");
        InvalidDatasetException e2 = assertThrows(InvalidDatasetException.class, () -> ImageFolder.scan(flat));
        assertTrue(e2.getMessage().contains(flat.toString()) && e2.getMessage().contains("no class folders"), e2.getMessage());

        Path emptyClass = tmp.resolve("emptyclass");
        touch(emptyClass, "cat/1.jpg", "dog/readme.txt");
        InvalidDatasetException e3 = assertThrows(InvalidDatasetException.class, () -> ImageFolder.split(emptyClass, 0.1, 0));
        assertTrue(e3.getMessage().contains(emptyClass.resolve("dog").toString()), e3.getMessage());

        InvalidDatasetException e4 = assertThrows(InvalidDatasetException.class, () -> ImageFolder.scan(emptyClass.resolve("cat/1.jpg")));
        assertTrue(e4.getMessage().contains("not a folder"), e4.getMessage());

        assertThrows(IllegalArgumentException.class, () -> ImageFolder.split(flat, 1.0, 0));
        assertThrows(IllegalArgumentException.class, () -> ImageFolder.split(flat, -0.1, 0));
        assertThrows(IllegalArgumentException.class, () -> ImageFolder.split(flat, Double.NaN, 0));
    }

    @Test
    void valCountRule() {
        assertEquals(0, StratifiedSplit.valCount(1, 0.5));
        assertEquals(1, StratifiedSplit.valCount(2, 0.01));
        assertEquals(1, StratifiedSplit.valCount(2, 0.9)); // never the whole class
        assertEquals(3, StratifiedSplit.valCount(10, 0.25)); // 2.5 rounds half up
        assertEquals(0, StratifiedSplit.valCount(100, 0.0));
    }
}
