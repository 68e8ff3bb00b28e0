package dev.jresnet.dnnl;

import dev.jresnet.graph.CpuInference;
import dev.jresnet.resnet.Device;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU engine's choice: oneDNN where it loads unless asked otherwise, never a silent fallback. */
class CpuEnginesTest {
    private static final String MISSING = "oneDNN is not on the class path (org.bytedeco:dnnl and its jar)";

    @Test
    void autoTakesOneDnnWhereItLoadsAndSaysWhyNotElsewhere() {
        CpuEngines.Choice loads = CpuEngines.choose("auto", () -> null);
        assertTrue(loads.onednn());
        assertTrue(loads.reason().startsWith("auto: oneDNN loads"), loads.reason());
        CpuEngines.Choice missing = CpuEngines.choose(" ", () -> MISSING);
        assertFalse(missing.onednn());
        assertEquals("auto: " + MISSING, missing.reason());
        assertTrue(missing.describe().startsWith("CPU kernel "), missing.describe());
        assertTrue(missing.describe().endsWith("(auto: " + MISSING + ")"), missing.describe());
    }

    @Test
    void javaIsNeverOneDnnAndOneDnnThatCannotLoadIsAnError() {
        assertFalse(CpuEngines.choose("java", () -> {
            throw new AssertionError("java does not ask whether oneDNN loads");
        }).onednn());
        assertTrue(CpuEngines.choose("onednn", () -> null).onednn());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> CpuEngines.choose("onednn", () -> MISSING));
        assertEquals(CpuEngines.PROPERTY + "=onednn: " + MISSING, e.getMessage());
        IllegalStateException bad = assertThrows(IllegalStateException.class, () -> CpuEngines.choose("mkl", () -> null));
        assertEquals(CpuEngines.PROPERTY + "=mkl: expected auto, java or onednn", bad.getMessage());
    }

    @Test
    void theDeviceDescriptionNamesTheEngineThatRuns() {
        String d = Device.cpu().description();
        if (Dnnl.unavailableReason() == null && System.getProperty(CpuEngines.PROPERTY) == null) {
            assertTrue(d.contains("CPU engine oneDNN "), d);
            assertTrue(d.contains(", " + Dnnl.threads() + " OpenMP threads ("), d);
            assertEquals(Dnnl.threads(), CpuEngines.threads());
            assertTrue(CpuEngines.open(dev.jresnet.testing.TestNets.randomBn(dev.jresnet.graph.Architecture.RESNET18,
                    1)) instanceof DnnlInference);
        } else {
            assertTrue(d.contains("CPU kernel "), d);
        }
        assertTrue(CpuEngines.choose("java", () -> null).describe().contains(
                CpuInference.kernels(dev.jresnet.graph.CpuConvolution.chosen())));
    }
}
