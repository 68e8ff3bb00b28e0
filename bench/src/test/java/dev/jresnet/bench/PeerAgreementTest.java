package dev.jresnet.bench;

import dev.jresnet.resnet.ResNet;
import dev.jresnet.resnet.Device;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The peers compute what jresnet computes, on the same weights and input: the precondition for comparing speed.
 * Small images (64x64, which ResNet-50 accepts) keep this quick; the whole 224x224 run is in {@link BenchJsonTest}.
 */
class PeerAgreementTest {
    private static ResNet model;
    private static Tensor input;
    private static float[] ours;

    @BeforeAll
    static void setUp() throws Exception {
        model = ResNet.untrained(7, Device.cpu());
        input = ModelBench.input(2, 64);
        JResNetEngine j = new JResNetEngine(model);
        j.load(input);
        assertTrue(j.run(true) > 0);
        ours = j.logits();
        assertEquals(2 * 1000, ours.length);
    }

    @AfterAll
    static void tearDown() {
        model.close();
    }

    @Test
    void onnxRuntimeAgreesWithJResNet() throws Exception {
        try (OnnxRuntimePeer ort = OnnxRuntimePeer.open(model, 2)) {
            ort.load(input);
            assertTrue(ort.run(true) > 0);
            double e = Results.relL2(ours, ort.logits());
            System.out.printf("[bench] jresnet vs ONNX Runtime, [2,3,64,64]: relative L2 %.3g%n", e);
            assertTrue(e <= 1e-5, "relative L2 " + e);
            assertTrue(ort.detail().contains("2 intra-op threads"), ort.detail());
        }
    }

    @Test
    void pyTorchPeerAgreesWithJResNet() throws Exception {
        PyTorchPeer torch;
        try {
            torch = PyTorchPeer.start(model, "cpu", "fp32", "eager", 2);
        } catch (PeerUnavailableException e) {
            if (Boolean.getBoolean("jresnet.requireTorch")) {
                throw new AssertionError("PyTorch peer required (jresnet.requireTorch): " + e.getMessage(), e);
            }
            Assumptions.assumeTrue(false, "PyTorch peer unavailable: " + e.getMessage());
            return;
        }
        try (torch) {
            torch.load(input);
            assertTrue(torch.run(true) > 0);
            double e = Results.relL2(ours, torch.logits());
            System.out.printf("[bench] jresnet vs PyTorch peer, [2,3,64,64]: relative L2 %.3g%n", e);
            assertTrue(e <= 1e-5, "relative L2 " + e);
            assertTrue(torch.run(false) > 0, "a second run without logits");
            assertTrue(torch.detail().contains("threads=2"), torch.detail());
        }
    }
}
