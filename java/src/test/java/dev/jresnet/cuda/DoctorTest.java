package dev.jresnet.cuda;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.*;

class DoctorTest {

    private static String run(boolean[] usable) {
        StringWriter text = new StringWriter();
        usable[0] = assertDoesNotThrow(() -> Doctor.report(new PrintWriter(text)));
        System.out.println(text);
        return text.toString();
    }

    /** Runs everywhere; without CUDA it must explain why and what to install, and say no. */
    @Test
    void reportsWithoutThrowing() {
        boolean[] usable = {false};
        String report = run(usable);
        assertTrue(report.startsWith("jresnet doctor"), report);
        assertTrue(report.contains("JavaCPP: 1.5.13"), report);
        assertTrue(report.contains("org.bytedeco:cuda 13.1-9.19-1.5.13"), report);
        CudaAvailability.Status status = CudaAvailability.status();
        if (!status.usable()) {
            assertFalse(usable[0]);
            assertTrue(report.contains("CUDA: unusable: " + status.reason()), report);
            assertTrue(report.contains("fix: "), report);
            assertTrue(report.contains("usable: no"), report);
        }
    }

    @Tag("gpu")
    @Test
    void gpuMachineIsUsable() {
        GpuTests.assumeCudnn();
        GpuTests.assumeCublas();
        GpuTests.assumeNvrtc();
        boolean[] usable = {false};
        String report = run(usable);
        assertTrue(usable[0], report);
        assertTrue(report.contains("usable: yes"), report);
        assertTrue(report.contains("GPU 0: "), report);
        assertTrue(report.contains("cuDNN: 9."), report);
        assertTrue(report.contains("kernels: compiled and loaded"), report);
        assertTrue(report.contains("libcudart"), report);
    }
}
