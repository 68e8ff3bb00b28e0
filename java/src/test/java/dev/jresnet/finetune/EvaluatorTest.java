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
    void dataClassesMapToTheModelsByNameAndStrangersAreNamed() {
        assertArrayEquals(new int[] {0, 1, 2}, Evaluator.labelMap(List.of("a", "b", "c"), List.of("a", "b", "c")));
        assertArrayEquals(new int[] {2, 0}, Evaluator.labelMap(List.of("b", "x", "a"), List.of("a", "b")));
        var e = assertThrows(IllegalArgumentException.class,
                () -> Evaluator.labelMap(List.of("cat", "dog"), List.of("cat", "emu", "yak")));
        assertTrue(e.getMessage().contains("[emu, yak]") && e.getMessage().contains("cat, dog"), e.getMessage());
    }
}
