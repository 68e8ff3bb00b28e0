package dev.jresnet.graph;

import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.IncompatibleWeightsException;
import dev.jresnet.weights.WeightSet;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Recognising the architecture of a weight file, and refusing one that fits none, in one short message. */
class ArchitectureMatchTest {
    private static WeightSet file(Network net, Map<String, String> meta) {
        WeightSet s = WeightBinding.export(net, meta);
        return new WeightSet(Path.of("model.pth"), new LinkedHashMap<>(s.entries()), meta);
    }

    @Test
    void everyKnownArchitectureIsRecognisedFromItsTensors() throws Exception {
        for (Architecture a : Architecture.KNOWN) {
            Architecture found = ArchitectureMatch.of(file(new Network(a.withClasses(7)), Map.of()));
            assertEquals(a.id(), found.id());
            assertEquals(7, found.numClasses(), "classes from fc.weight");
            assertEquals(Variant.V1_5, found.variant());
        }
    }

    @Test
    void metadataNamesTheArchitectureAndVariant() throws Exception {
        WeightSet s = file(new Network(Architecture.RESNET50), Map.of(ArchitectureMatch.META_ARCHITECTURE, "resnet50",
                ArchitectureMatch.META_VARIANT, "v1"));
        assertEquals(Architecture.RESNET50.withVariant(Variant.V1), ArchitectureMatch.of(s));
        IncompatibleWeightsException e = assertThrows(IncompatibleWeightsException.class, () -> ArchitectureMatch.of(
                file(new Network(Architecture.RESNET50), Map.of(ArchitectureMatch.META_ARCHITECTURE, "resnet51"))));
        assertTrue(e.getMessage().startsWith("model.pth: metadata jresnet.architecture says unknown architecture"),
                e.getMessage());
    }

    @Test
    void aFileThatFitsNothingIsRefusedNamingTheClosestAndItsFirstDifferences() {
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>(
                WeightBinding.export(new Network(Architecture.RESNET50), Map.of()).entries());
        Tensor wrong = Tensor.zeros(128, 64, 3, 3);
        for (String name : new String[] {"layer1.0.conv2.weight", "layer1.1.conv2.weight"}) {
            entries.put(name, new WeightSet.Entry(name, dev.jresnet.tensor.DataType.F32, wrong, null, new int[] {128, 64, 3, 3}));
        }
        entries.remove("layer4.2.bn3.running_var");
        WeightSet s = new WeightSet(Path.of("odd.pth"), entries, Map.of());
        IncompatibleWeightsException e = assertThrows(IncompatibleWeightsException.class, () -> ArchitectureMatch.of(s));
        String m = e.getMessage();
        assertTrue(m.startsWith("odd.pth matches no known architecture"), m);
        assertTrue(m.contains("closest is resnet50: 2 mismatched (layer1.0.conv2.weight: expected [64, 64, 3, 3], "
                + "found [128, 64, 3, 3], layer1.1.conv2.weight"), m);
        assertTrue(m.contains("1 missing (layer4.2.bn3.running_var [2048])"), m);
        assertFalse(m.contains("\n"), "one line");
        assertTrue(m.length() < 600, "short: " + m.length() + " characters");
    }

    @Test
    void loadingIntoTheWrongArchitectureSaysWhichOneTheFileHolds() {
        WeightSet resnet18 = file(new Network(Architecture.RESNET18), Map.of());
        IncompatibleWeightsException e = assertThrows(IncompatibleWeightsException.class,
                () -> WeightBinding.load(new Network(Architecture.RESNET34), resnet18));
        String m = e.getMessage();
        assertTrue(m.startsWith("model.pth does not fit resnet34:"), m);
        assertTrue(m.contains("missing (layer1.2.conv1.weight [64, 64, 3, 3]"), m);
        assertTrue(m.endsWith("the file holds resnet18 weights"), m);
        assertTrue(m.length() < 600, "short: " + m.length());
    }

    // --- the classifier is the one size a Network takes from the file: checked before one is built ------

    /** resnet18's tensors with the classifier replaced by {@code fc.weight [rows, cols]} and {@code fc.bias [bias]}. */
    static WeightSet withClassifier(int rows, int cols, int bias) {
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>(
                WeightBinding.export(new Network(Architecture.RESNET18), Map.of()).entries());
        entries.put("fc.weight", new WeightSet.Entry("fc.weight", DataType.F32, Tensor.zeros(rows, cols), null,
                new int[] {rows, cols}));
        entries.put("fc.bias", new WeightSet.Entry("fc.bias", DataType.F32, Tensor.zeros(bias), null, new int[] {bias}));
        return new WeightSet(Path.of("fc.safetensors"), entries, Map.of());
    }

    private static String refused(WeightSet s, Architecture requested, String... fragments) {
        IncompatibleWeightsException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(
                IncompatibleWeightsException.class, () -> ArchitectureMatch.of(s, requested)));
        String m = e.getMessage();
        System.out.println(m);
        assertTrue(m.startsWith("fc.safetensors"), m);
        assertFalse(m.contains("\n"), "one line: " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), "\"" + f + "\" missing from: " + m);
        }
        return m;
    }

    @Test
    void classifierOfAMillionClassesByOneFeatureIsRefusedBeforeAnythingIsBuilt() {
        // it used to give a resnet18 with 1,000,000 classes: a 1000000 x 512 classifier allocated before the load
        // noticed that the file's has 1 input feature (8 GB for resnet50's 2048)
        WeightSet s = withClassifier(1_000_000, 1, 1_000_000);
        refused(s, Architecture.RESNET18, "does not fit resnet18: 1 mismatched (fc.weight: expected [classes, 512], "
                + "found [1000000, 1])");
        refused(s, null, "matches no known architecture", "closest is resnet18: 1 mismatched (fc.weight: expected "
                + "[classes, 512], found [1000000, 1])");
    }

    @Test
    void classesAreBoundedAndTheBiasMustMatch() throws Exception {
        assertEquals(11, ArchitectureMatch.of(withClassifier(11, 512, 11), null).numClasses());
        System.setProperty("jresnet.limit.classes", "10");
        try {
            refused(withClassifier(11, 512, 11), null, "tensor fc.weight [11, 512] classes: 11 exceeds the limit of 10",
                    "jresnet.limit.classes");
            refused(withClassifier(11, 512, 11), Architecture.RESNET18, "classes: 11 exceeds the limit of 10");
        } finally {
            System.clearProperty("jresnet.limit.classes");
        }
        refused(withClassifier(7, 512, 9), Architecture.RESNET18, "fc.bias: expected [7] (as fc.weight), found [9]");
    }
}
