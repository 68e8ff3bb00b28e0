package dev.jresnet.finetune;

import dev.jresnet.train.ImageFolder;
import dev.jresnet.train.SyntheticShapes;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What Evaluator evaluates on, and how it matches the data's classes to the model's. */
class EvaluatorTest {
    @Test
    void selectsValFolderElseTheSplitsValidationPartElseEverything(@TempDir Path tmp) throws Exception {
        Path flat = tmp.resolve("flat");
        SyntheticShapes.generate(flat, 5, 16, 1);
        Evaluator.Selection all = Evaluator.select(flat, null, 0);
        assertEquals(30, all.samples().size());
        assertTrue(all.description().contains("all 30 images"), all.description());

        Evaluator.Selection val = Evaluator.select(flat, 0.2, 3);
        assertEquals(ImageFolder.split(flat, 0.2, 3).val(), val.samples(), "the split finetune makes");
        assertEquals(6, val.samples().size());
        assertThrows(IllegalArgumentException.class, () -> Evaluator.select(flat, 0.0, 0));

        Path split = tmp.resolve("split");
        SyntheticShapes.generate(split.resolve("train"), 2, 16, 1);
        SyntheticShapes.generate(split.resolve("val"), 1, 16, 2);
        Evaluator.Selection v = Evaluator.select(split, 0.5, 0);
        assertEquals(6, v.samples().size());
        assertTrue(v.samples().stream().allMatch(s -> s.file().startsWith(split.resolve("val"))));
        assertTrue(Files.isDirectory(split.resolve("val")));
    }

    @Test
    void withoutOptionsTheRecordedSplitsValidationImagesOfThatFolderOnly(@TempDir Path tmp) throws Exception {
        Path flat = tmp.resolve("flat");
        SyntheticShapes.generate(flat, 5, 16, 1);
        ImageFolder.Split made = ImageFolder.split(flat, 0.4, 7);
        DataSplit recorded = DataSplit.of(flat, false, 0.4, 7, made.train().size(), made.val().size());
        DataSplit parsed = DataSplit.fromMetadata(java.util.Map.of(DataSplit.META, recorded.encode()));
        assertEquals(recorded, parsed, "the metadata round trip");

        // The same folder, by another path: the recorded split's validation images.
        Evaluator.Selection s = Evaluator.select(tmp.resolve("./flat/../flat"), parsed, null, null, false);
        assertEquals(Evaluator.Source.RECORDED_SPLIT, s.source());
        assertEquals(made.val(), s.samples().stream().map(x -> new dev.jresnet.train.Sample(
                x.file().normalize(), x.label())).toList());
        assertTrue(s.description().contains("the 12 validation images of the split the model was fine-tuned with "
                + "(fraction 0.4, seed 7)"), s.description());
        assertEquals(null, s.note());
        assertEquals(0.4, s.valFraction());
        assertEquals(7L, s.seed());

        // Given options win; the recorded seed is the default of a given fraction.
        assertEquals(ImageFolder.split(flat, 0.2, 7).val(), Evaluator.select(flat, parsed, 0.2, null, false).samples());
        assertEquals(ImageFolder.split(flat, 0.2, 1).val(), Evaluator.select(flat, parsed, 0.2, 1L, false).samples());
        Evaluator.Selection all = Evaluator.select(flat, parsed, null, null, true);
        assertEquals(30, all.samples().size());
        assertEquals(Evaluator.Source.ALL, all.source());
        assertThrows(IllegalArgumentException.class, () -> Evaluator.select(flat, parsed, null, 3L, false));
        assertThrows(IllegalArgumentException.class, () -> Evaluator.select(flat, parsed, 0.2, null, true));

        // Another folder with the same classes: every image, saying why.
        Path other = tmp.resolve("other");
        SyntheticShapes.generate(other, 2, 16, 5);
        Evaluator.Selection o = Evaluator.select(other, parsed, null, null, false);
        assertEquals(12, o.samples().size());
        assertTrue(o.note().contains("fine-tuned on " + flat.toRealPath() + ", not on " + other), o.note());

        // No split recorded, or every image trained on: every image, saying so.
        assertTrue(Evaluator.select(flat, null, null, null, false).note().contains("records no fine-tuning split"));
        DataSplit none = DataSplit.of(flat, false, 0, 0, 30, 0);
        assertTrue(Evaluator.select(flat, none, null, null, false).note().contains("these are its training images"));

        // Images added since: the split moves, which is said.
        SyntheticShapes.generate(tmp.resolve("more"), 6, 16, 1);
        Files.copy(tmp.resolve("more/striped/striped_0005.png"), flat.resolve("striped/striped_0005.png"));
        Evaluator.Selection moved = Evaluator.select(flat, parsed, null, null, false);
        assertEquals(Evaluator.Source.RECORDED_SPLIT, moved.source());
        assertTrue(moved.note() != null && moved.note().contains("added or removed since"), String.valueOf(moved.note()));
    }

    @Test
    void dataClassesMapToTheModelsByNameAndStrangersAreNamed() {
        assertArrayEquals(new int[] {0, 1, 2}, Evaluator.labelMap(List.of("a", "b", "c"), List.of("a", "b", "c")));
        assertArrayEquals(new int[] {2, 0}, Evaluator.labelMap(List.of("b", "x", "a"), List.of("a", "b")));
        var e = assertThrows(IllegalArgumentException.class,
                () -> Evaluator.labelMap(List.of("cat", "dog"), List.of("cat", "emu", "yak")));
        assertTrue(e.getMessage().contains("[emu, yak]") && e.getMessage().contains("cat, dog"), e.getMessage());
    }
}
