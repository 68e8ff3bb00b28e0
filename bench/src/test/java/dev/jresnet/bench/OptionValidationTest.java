package dev.jresnet.bench;

import dev.jresnet.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad options end with status 2 and one line naming the problem, before anything slow runs. */
class OptionValidationTest {
    record Run(int status, String out, String err) {}

    static Run bench(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        String[] all = new String[args.length + 1];
        all[0] = "bench";
        System.arraycopy(args, 0, all, 1, args.length);
        int status = cl.execute(all);
        return new Run(status, out.toString(), err.toString());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--batch 0                       | --batch sizes must be at least 1, got 0",
            "--batch 1,x                     | --batch takes positive integers separated by commas",
            "--batch 8,8                     | --batch lists 8 twice",
            "--compare onnxruntime,tensorrt  | --compare takes onnxruntime, pytorch (comma-separated), got \"tensorrt\"",
            "--precision fp16                | --precision fp16 needs --device cuda",
            "--precision int8                | --precision must be fp32, tf32 or fp16",
            "--seconds 0                     | --seconds must be a positive number of seconds",
            "--warmup -1                     | --warmup must be zero or a positive number",
            "--threads 0                     | --threads must be at least 1",
            "--device tpu                    | --device must be cpu, cuda or cuda:N, got \"tpu\"",
            "--device auto                   | --device must be cpu, cuda or cuda:N",
            "--layers --compare pytorch      | --compare with --layers takes onnxruntime alone, on the CPU",
            "--layers --compare onnxruntime,pytorch | --compare with --layers takes onnxruntime alone, on the CPU",
            "--pytorch-mode jit --compare pytorch | --pytorch-mode must be eager or compile",
            "--pytorch-mode compile          | --pytorch-mode applies to the pytorch peer",
            "--weights /nonexistent/w.safetensors | --weights /nonexistent/w.safetensors: no such file",
    })
    void badOptionsAreOneClearLine(String args, String expected) {
        Run r = bench(args.strip().split("\\s+"));
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("jresnet: error: " + expected), r.err());
        assertEquals("", r.out());
    }

    @Test
    void cudaFailsWithTheEnginesReason() {
        // No GPU on the build machines: the engine's message, not a stack trace.
        Run r = bench("--device", "cuda", "--batch", "1");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("jresnet: error: cannot run on cuda:0"), r.err());
    }

    @Test
    void threadsOtherThanOneDnnsAreRefusedWithTheFix() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.jresnet.dnnl.CpuEngines.chosen().onednn(),
                "oneDNN is not the CPU engine here");
        int omp = dev.jresnet.dnnl.Dnnl.threads();
        BenchCommand.requireEngineThreads(omp);  // agrees: nothing to say
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> BenchCommand.requireEngineThreads(omp + 1));
        assertEquals("--threads " + (omp + 1) + ": oneDNN, the CPU engine here, runs on " + omp + " OpenMP threads, "
                + "which it takes from OMP_NUM_THREADS when it loads; run OMP_NUM_THREADS=" + (omp + 1) + " jresnet "
                + "bench ..., or use jresnet's Java kernels (JRESNET_JAVA_OPTS=-Djresnet.cpu.engine=java)",
                e.getMessage());
    }

    @Test
    void unparsableNumbersArePicocliErrors() {
        Run r = bench("--seconds", "soon");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--seconds"), r.err());
    }

    @Test
    void helpListsTheOptions() {
        Run r = bench("--help");
        assertEquals(0, r.status());
        for (String o : new String[] {"--device", "--batch", "--precision", "--seconds", "--warmup", "--compare",
                "--json", "--report", "--weights", "--threads", "--layers"}) {
            assertTrue(r.out().contains(o), o + " missing from\n" + r.out());
        }
    }
}
