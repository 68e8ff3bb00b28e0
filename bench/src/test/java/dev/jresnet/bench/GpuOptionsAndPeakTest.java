package dev.jresnet.bench;

import dev.jresnet.cuda.CudaAvailability;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The GPU options' checks, the GPU lab without a GPU, the peak-share arithmetic, and the peer's Python. */
class GpuOptionsAndPeakTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--runs 5                                        | --runs applies to the GPU kernel lab (--layers --device cuda)",
            "--layers --runs 5                               | --runs applies to the GPU kernel lab",
            "--layers --device cuda --runs 0                 | --runs must be at least 1, got 0",
            "--device cuda --precision fp16,fp32             | --precision takes several precisions (or all) only with --layers --device cuda",
            "--layers --precision all                        | --precision tf32 needs --device cuda",
            "--layers --device cuda --precision fp16,fp64    | --precision must be fp32, tf32 or fp16, got \"fp16,fp64\"",
            "--layers --device cuda --compare onnxruntime    | --compare with --layers takes onnxruntime alone, on the CPU",
    })
    void badGpuOptionsAreOneClearLine(String args, String expected) {
        OptionValidationTest.Run r = OptionValidationTest.bench(args.strip().split("\\s+"));
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("jresnet: error: " + expected), r.err());
        assertEquals("", r.out());
    }

    @Test
    void gpuLabWithoutAGpuSaysWhyInOneLine(@TempDir Path tmp) {
        Assumptions.assumeFalse(CudaAvailability.backendStatus().usable(), "this machine has a usable GPU");
        Path report = tmp.resolve("rep");
        OptionValidationTest.Run r = OptionValidationTest.bench("--layers", "--device", "cuda", "--precision", "all",
                "--report", report.toString());
        assertEquals(2, r.status(), r.err());
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.get(0).startsWith("jresnet: error: cannot run the kernel lab on cuda:0: CUDA is unusable ("
                + CudaAvailability.backendStatus().reason() + ")"), lines.get(0));
        assertEquals("", r.out());
        assertFalse(Files.exists(report), "nothing is written before the GPU is found");
    }

    @Test
    void precisionLists() {
        assertEquals(List.of("fp32", "tf32", "fp16"), BenchCommand.parsePrecisions("all"));
        assertEquals(List.of("fp16", "fp32"), BenchCommand.parsePrecisions("FP16, fp32,fp16"));
        assertEquals(List.of("tf32"), BenchCommand.parsePrecisions("tf32"));
    }

    @Test
    void h200PeaksAreTheDatasheetsDenseFigures() {
        assertEquals(67_000, PeakFlops.gflops("NVIDIA H200", "fp32").getAsDouble());
        assertEquals(494_700, PeakFlops.gflops("NVIDIA H200", "tf32").getAsDouble());
        assertEquals(989_400, PeakFlops.gflops("NVIDIA H200", "fp16").getAsDouble());
        // Longest fragment wins: the NVL (PCIe) part has lower clocks.
        assertEquals(835_500, PeakFlops.gflops("NVIDIA H200 NVL", "fp16").getAsDouble());
        assertEquals(756_000, PeakFlops.gflops("NVIDIA H100 PCIe", "fp16").getAsDouble());
        assertEquals(989_400, PeakFlops.gflops("NVIDIA H100 80GB HBM3", "fp16").getAsDouble());
        assertEquals(OptionalDouble.empty(), PeakFlops.gflops("cpu", "fp32"));
        assertEquals(OptionalDouble.empty(), PeakFlops.gflops("NVIDIA GeForce GTX 1080", "fp32"));
        assertEquals(OptionalDouble.empty(), PeakFlops.gflops("cuda:0", "fp16"), "a device index is not a GPU name");
        assertEquals(OptionalDouble.empty(), PeakFlops.gflops("NVIDIA H200", "int8"));
    }

    @Test
    void peakShareArithmetic() {
        assertEquals(0.5, PeakFlops.share(494_700, 989_400), 1e-12);
        // 3000 images/s of 8.178 GFLOP = 24.534 TFLOP/s: 2.48 % of the H200's dense fp16 peak, 36.6 % of fp32's.
        double g = PeakFlops.gflops(3000, 8_178_000_000L);
        assertEquals(24_534, g, 1e-9);
        assertEquals(24_534 / 989_400.0, PeakFlops.share(g, 989_400), 1e-15);
        assertEquals(0.36618, PeakFlops.share(g, 67_000), 1e-5);
        try {
            PeakFlops.share(1, 0);
            throw new AssertionError("a zero peak must be refused");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("peak must be positive"));
        }
    }

    @Test
    void modelTableShowsTheShareOfPeakWhenKnown() {
        Statistics s = Statistics.of(0.010, 0.011, 0.012); // batch 32: mean 11 ms
        double ips = 32 / s.mean();
        double gflops = PeakFlops.gflops(ips, 8_178_000_000L);
        OptionalDouble share = OptionalDouble.of(PeakFlops.share(gflops, 989_400));
        Results.BatchResult b = new Results.BatchResult(32,
                List.of(new Results.EngineResult("jresnet", 32, s, ips, gflops, share)), List.of());
        Table t = Output.modelTable(List.of(b));
        String text = t.text();
        assertTrue(text.contains("% of peak"), text);
        // 32 / 0.011 = 2909.09 images/s, 23.79 TFLOP/s, 2.4 % of 989.4 TFLOP/s
        assertTrue(text.contains("TFLOP/s") && !text.contains("GFLOP/s"), text);
        assertTrue(text.contains("2909.09") && text.contains("23.79") && text.contains(" 2.4 "), text);
    }

    @Test
    void pythonCandidatesComeFromPathThenDebian(@TempDir Path tmp) throws Exception {
        Path a = Files.createDirectories(tmp.resolve("a"));
        Path b = Files.createDirectories(tmp.resolve("b"));
        Path exe = b.resolve("python3");
        Files.writeString(exe, "#!/bin/sh\nexit 1\n");
        assertTrue(exe.toFile().setExecutable(true));
        List<String> c = PyTorchPeer.pythonCandidates(a + java.io.File.pathSeparator + b);
        assertEquals(exe.toString(), c.get(0), "the first python3 on PATH comes first");
        assertEquals(Files.isExecutable(Path.of(PyTorchPeer.DEBIAN_PYTHON)), c.contains(PyTorchPeer.DEBIAN_PYTHON));
        assertFalse(PyTorchPeer.hasTorch(exe.toString()), "a python3 without torch is passed over");
        assertFalse(PyTorchPeer.hasTorch(tmp.resolve("missing").toString()));
        assertFalse(PyTorchPeer.pythonCandidates(tmp.resolve("a").toString()).contains(exe.toString()));
    }
}
