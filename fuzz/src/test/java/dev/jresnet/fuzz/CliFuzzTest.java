package dev.jresnet.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.jresnet.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * {@link Main#run} on any argument vector: an exit status of 0, 1 or 2 within the time bound, no stack trace, no
 * unchecked exception's name as the error (a bug behind a one-line message is still a bug), nothing thrown.
 *
 * <p>The input is the argument vector, one argument per line (seeds are readable: CliFuzzTestInputs/run/*). An
 * argument {@code @NAME} is a hostile file of {@link #FILES}; a '/' in any other argument becomes '_', so that what a
 * command writes lands in the JVM's working directory (target/fuzz-cwd, see pom.xml) and nowhere else. The default
 * weights ($JRESNET_WEIGHTS, set in pom.xml) are a missing file, and vectors naming what is heavy by design with no
 * input at all (--untrained builds a ResNet-50, gradcheck runs its checks, doctor probes the GPU libraries, serve
 * serves until SIGTERM) are
 * skipped: seconds per input would starve the search, and their options go through the same picocli parsing.
 */
class CliFuzzTest {
    private static final Set<String> SKIPPED = Set.of("gradcheck", "doctor", "--untrained", "serve");
    /** A stack trace frame, a "Caused by", or the JVM's own uncaught-exception line. */
    private static final Pattern STACK_TRACE = Pattern.compile("(?m)^\\s+at [\\w$.<>/]+\\(|^Caused by: |^Exception in thread ");
    /** An unchecked exception's class name standing in for an error message. */
    private static final Pattern UNCHECKED = Pattern.compile(
            "java\\.lang\\.\\w+(Exception|Error)|\\w+(IndexOutOfBounds|NullPointer|ClassCast|Arithmetic|NegativeArraySize)Exception");
    private static final Map<String, byte[]> FILES = Map.of(
            "png", "not an image".getBytes(StandardCharsets.US_ASCII),
            "jpg", new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0},
            "pth", "PK\u0003\u0004 truncated zip".getBytes(StandardCharsets.ISO_8859_1),
            "safetensors", new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0, 0, 0, '{', '}'},
            "onnx", new byte[] {0x3a, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f},
            "npy", "\u0093NUMPY\u0001\u0000\u00ff\u00ff{".getBytes(StandardCharsets.ISO_8859_1));
    private static Map<String, Path> placeholders;
    private static int outputs;

    @FuzzTest
    @DictionaryEntries({"classify", "convert", "evaluate", "finetune", "summary", "help", "--help", "-h", "--version",
            "-V", "--weights", "--arch", "resnet18", "--preset", "torchvision-v2", "--variant", "v1", "--device", "cpu",
            "cuda:1", "--precision", "fp16", "--seed", "--top", "--json", "--batch", "--out", "--dtype", "f16", "--epochs",
            "--lr", "--momentum", "--weight-decay", "--schedule", "step", "--warmup-epochs", "--lr-step-epochs",
            "--label-smoothing", "--clip-grad-norm", "--val-fraction", "--no-augment", "--no-feature-cache",
            "--feature-cache-mb", "--image-size", "--workers", "--checkpoint", "--checkpoint-every", "--resume",
            "--unfreeze", "layer4", "--train-bn", "--optimizer", "adamw", "--confusion-png", "@png", "@jpg", "@pth",
            "@safetensors", "@onnx", "@npy", "@dir", "@data", "@missing", "@out", "-1", "0", "1e309", "NaN",
            "9223372036854775808", "2147483647"})
    void run(byte[] data) throws Exception {
        List<String> args = new ArrayList<>();
        for (String a : new String(data, StandardCharsets.UTF_8).split("\n", -1)) {
            if (SKIPPED.contains(a)) {
                return;
            }
            args.add(argument(a));
        }
        if (data.length == 0) {
            args.clear();
        }
        StringWriter out = new StringWriter(), err = new StringWriter();
        ByteArrayOutputStream sysOut = new ByteArrayOutputStream(), sysErr = new ByteArrayOutputStream();
        PrintStream oldOut = System.out, oldErr = System.err;
        Integer status;
        try {
            // Commands write to the picocli writers; System.out/err are caught too, in case anything bypasses them.
            System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(sysErr, true, StandardCharsets.UTF_8));
            status = Hostile.call(() -> {
                CommandLine cl = Main.commandLine();
                cl.setOut(new PrintWriter(out, true));
                cl.setErr(new PrintWriter(err, true));
                return cl.execute(args.toArray(String[]::new));
            });
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        String printed = err + "\n" + sysErr.toString(StandardCharsets.UTF_8) + "\n" + out + "\n"
                + sysOut.toString(StandardCharsets.UTF_8);
        if (Boolean.getBoolean("fuzz.verbose")) {
            oldErr.println("fuzz: jresnet " + String.join(" ", args) + " -> " + status);
        }
        String where = "jresnet " + String.join(" ", args) + " -> exit " + status + ":\n" + printed;
        Hostile.check(status >= 0 && status <= 2, "exit status out of 0..2: " + where);
        Hostile.check(!STACK_TRACE.matcher(printed).find(), "a stack trace: " + where);
        Hostile.check(!UNCHECKED.matcher(err.toString()).find(), "an unchecked exception as the error: " + where);
    }

    /** The argument the fuzzer's line stands for. */
    private static String argument(String a) {
        if (a.startsWith("@")) {
            Path p = placeholders().get(a.substring(1));
            if (p != null) {
                return p.toString();
            }
            if (a.equals("@out")) {
                return Hostile.scratch().resolve("out-" + outputs++).toString();
            }
        }
        return a.replace('/', '_');
    }

    private static synchronized Map<String, Path> placeholders() {
        if (placeholders == null) {
            try {
                Path dir = Hostile.scratch().resolve("cli");
                Files.createDirectories(dir.resolve("empty"));
                Files.createDirectories(dir.resolve("data").resolve("cat"));
                Files.write(dir.resolve("data").resolve("cat").resolve("bad.png"), FILES.get("png"));
                Map<String, Path> m = new java.util.HashMap<>();
                for (Map.Entry<String, byte[]> f : FILES.entrySet()) {
                    m.put(f.getKey(), Files.write(dir.resolve("hostile." + f.getKey()), f.getValue()));
                }
                m.put("dir", dir.resolve("empty"));
                m.put("data", dir.resolve("data"));
                m.put("missing", dir.resolve("no-such-file.png"));
                placeholders = m;
            } catch (IOException e) {
                throw new UncheckedIOException("fuzz harness: cannot make the CLI's files", e);
            }
        }
        return placeholders;
    }
}
