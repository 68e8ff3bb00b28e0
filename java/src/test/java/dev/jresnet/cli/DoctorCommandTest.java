package dev.jresnet.cli;

import dev.jresnet.cuda.CudaAvailability;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class DoctorCommandTest {

    @Test
    void doctorExitsNonZeroWithTheReasonWhereCudaIsUnusable() {
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("doctor");
        assertTrue(r.out().startsWith("jresnet doctor"), r.out());
        if (!CudaAvailability.backendStatus().usable()) {
            assertEquals(1, r.exit(), r.out());
            assertTrue(r.out().contains("fix: ") && r.out().contains("usable: no"), r.out());
        } else {
            assertTrue(r.out().contains("convolution smoke test: ok"), r.out());
            assertEquals(0, r.exit(), r.out());
        }
    }

    @Test
    void precisionOptionIsCheckedAndCudaStillExplainsItself() {
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("classify",
                ClassifyCommandTest.samples().resolve("coffee.png").toString(), "--precision", "fp8", "--device", "cpu");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("unknown precision \"fp8\""), r.err());
        if (!CudaAvailability.backendStatus().usable()) {
            r = ClassifyCommandTest.run("classify", ClassifyCommandTest.samples().resolve("coffee.png").toString(),
                    "--device", "cuda", "--precision", "fp16");
            assertEquals(2, r.exit(), r.err());
            assertTrue(r.err().contains("CUDA is unusable") && r.err().lines().count() == 1, r.err());
        }
    }
}
