package dev.jresnet.resnet;

import dev.jresnet.cuda.CudaAvailability;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import static org.junit.jupiter.api.Assertions.*;

/** The batch, buffer and async API on the CPU engine, and CUDA's refusal where it cannot run. */
class ResNetApiTest {

    @Test
    void floatBufferAndAsyncCallsMatchTheTensorCall() throws Exception {
        try (ResNet m = ResNet.untrained(1, Device.cpu())) {
            Tensor x = ResNetTest.randomInput(2, 224, 3);
            float[][] expected = m.logits(x);
            FloatBuffer in = ByteBuffer.allocateDirect(4 * x.size()).order(ByteOrder.nativeOrder()).asFloatBuffer();
            in.put(x.data()).flip();
            FloatBuffer out = ByteBuffer.allocateDirect(4 * 2000).order(ByteOrder.nativeOrder()).asFloatBuffer();
            m.logits(in, 2, out);
            assertEquals(0, in.position(), "input position unchanged");
            assertEquals(0, out.position(), "output position unchanged");
            float[] row1 = new float[1000];
            out.position(1000);
            out.get(row1);
            assertArrayEquals(expected[1], row1);
            float[][] async = m.logitsAsync(x).get();
            assertArrayEquals(expected[0], async[0]);
            assertEquals(Precision.FP32, m.precision());
        }
    }

    @Test
    void badBuffersAndUseAfterCloseAreRefused() {
        ResNet m = ResNet.untrained(1, Device.cpu());
        assertEquals("ResNet-50 on cpu, fp32, 224x224, weights seeded untrained (seed 1)", m.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.logits(FloatBuffer.allocate(10), 1, FloatBuffer.allocate(1000)));
        assertTrue(e.getMessage().contains("150528"), e.getMessage());
        IllegalStateException s = assertThrows(IllegalStateException.class, () -> m.allocateInput(1));
        assertTrue(s.getMessage().contains("CUDA"), s.getMessage());
        m.close();
        m.close();
        assertEquals("ResNet-50 (closed)", m.toString(), "a log line about a closed model must not throw");
        assertThrows(IllegalStateException.class, () -> m.logits(FloatBuffer.allocate(150528), 1, FloatBuffer.allocate(1000)));
        assertThrows(IllegalStateException.class, () -> m.logitsAsync(ResNetTest.randomInput(1, 64, 1)));
        assertThrows(IllegalStateException.class, () -> m.forward(ResNetTest.randomInput(1, 64, 1)));
    }

    @Test
    void precisionParsesAndTheCpuSaysItComputesInFp32() throws Exception {
        assertEquals(Precision.TF32, Precision.parse("TF32"));
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp8"));
        try (ResNet m = ResNet.builder().device(Device.cpu()).precision(Precision.FP16).build()) {
            assertEquals(Precision.FP32, m.precision());
            assertTrue(m.deviceDescription().contains("computes in fp32"), m.deviceDescription());
        }
    }

    @Test
    void cudaWithoutTheLibrariesFailsWithWhatToInstall() {
        Assumptions.assumeFalse(CudaAvailability.backendStatus().usable(), "this machine can run CUDA");
        DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class,
                () -> ResNet.builder().device(Device.cuda(0)).precision(Precision.FP16).build());
        assertTrue(e.getMessage().contains("CUDA is unusable") && e.getMessage().contains("install"), e.getMessage());
        assertEquals(Device.Kind.CPU, Device.auto().kind());
    }
}
