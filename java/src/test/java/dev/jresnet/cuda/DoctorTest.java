package dev.jresnet.cuda;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

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
        // One line per required library, each loaded, found or missing with its fix; no stack trace.
        for (CudaLibraries.Library lib : CudaLibraries.REQUIRED) {
            long lines = report.lines().filter(l -> l.startsWith("    " + lib.soname() + " (")).count();
            assertEquals(1, lines, lib.soname() + " in\n" + report);
        }
        assertFalse(report.contains("\tat "), report);
    }

    @Test
    void eachLibraryLineSaysWhereOrTheFix(@TempDir Path dir) throws IOException {
        Files.createFile(dir.resolve("libcublas.so.13"));
        Files.createFile(dir.resolve("libnvrtc-builtins.so.13.1"));
        Map<String, String> loaded = Map.of("libcudart.so.13.0.96", "/opt/cuda/libcudart.so.13.0.96");
        List<String> lines = CudaLibraries.report(loaded, "libcudnn.so.9=/venv/nvidia/cudnn/lib/libcudnn.so.9",
                List.of(dir.toString()));
        assertEquals(CudaLibraries.REQUIRED.size(), lines.size(), String.join("\n", lines));
        assertEquals("libcudart.so.13 (CUDA runtime): loaded /opt/cuda/libcudart.so.13.0.96", lines.get(1));
        assertEquals("libcublas.so.13 (cuBLAS): found " + dir.resolve("libcublas.so.13") + " (not loaded)", lines.get(2));
        assertTrue(lines.get(3).startsWith("libcublasLt.so.13 (cuBLASLt): missing; fix: apt install libcublas-13-0,"
                + " or pip install \"nvidia-cublas==13.*\""), lines.get(3));
        assertTrue(lines.get(4).endsWith("found /venv/nvidia/cudnn/lib/libcudnn.so.9 (not loaded)"), lines.get(4));
        assertTrue(lines.get(6).contains("found " + dir.resolve("libnvrtc-builtins.so.13.1")), lines.get(6));
        assertTrue(lines.get(0).startsWith("libcuda.so.1 (NVIDIA driver): missing; fix: install the NVIDIA driver"),
                lines.get(0));
        assertFalse(lines.get(0).contains("LD_LIBRARY_PATH"), "the driver is not found through LD_LIBRARY_PATH");
    }

    @Test
    void installHintNamesThePackagesOfTheMissingLibrary() {
        assertTrue(NativeLibs.installHint("libcudnn_cnn.so.9 not found").contains("libcudnn9-cuda-13"));
        assertTrue(NativeLibs.installHint("libcudnn_cnn.so.9 not found").contains("nvidia-cudnn-cu13"));
        assertTrue(NativeLibs.installHint("libcublasLt.so.13 not found").contains("libcublas-13-0"));
        assertTrue(NativeLibs.installHint("libcudart.so.13 not found").contains("mvn -Pcuda-redist"));
        assertTrue(NativeLibs.installHint("libcudart.so.13 not found").contains("cuda-cudart-13-0"));
        assertTrue(NativeLibs.installHint("libnvrtc.so.13 not found").contains("nvidia-cuda-nvrtc"));
        assertTrue(NativeLibs.installHint("libnvrtc-builtins.so.13.1 not found").contains("cuda-nvrtc-13-0"));
        assertTrue(NativeLibs.installHint("libcuda.so.1 not found").startsWith("install the NVIDIA driver"));
        assertTrue(NativeLibs.installHint("no CUDA device").contains("nvidia-smi"));
        for (String r : List.of("libcudnn.so.9 not found", "libcublas.so.13 not found", "libnvrtc.so.13 not found")) {
            assertFalse(NativeLibs.installHint(r).contains("\n"), r);
            assertTrue(NativeLibs.installHint(r).contains("LD_LIBRARY_PATH"), r);
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
