package dev.jresnet.bench;

import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.SafetensorsWriter;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * torchvision's resnet50 with our weights, in a persistent Python subprocess ({@code bench/peers/pytorch_peer.py})
 * that the harness asks for one timed batch at a time. The subprocess times itself, so the pipe round trip is not
 * counted; the input crosses once per batch size as a {@code .npy} file, and logits come back the same way.
 */
final class PyTorchPeer implements Engine {
    static final String SCRIPT = "bench/peers/pytorch_peer.py";
    /** Importing torch takes a few seconds; a cold disk or a loaded machine can take much longer. */
    private static final long START_TIMEOUT_S = 180;
    /** No single batch should take this long; a peer silent for longer is considered hung. */
    private static final long RUN_TIMEOUT_S = 1800;
    private static final String EOF = "\u0000eof";

    private final Process process;
    private final Writer stdin;
    private final BlockingQueue<String> lines;
    private final Path dir;
    private final Path stderrLog;
    private final String ready;
    private final int threads;
    private float[] logits;

    private PyTorchPeer(Process process, BlockingQueue<String> lines, Path dir, Path stderrLog, String ready,
                        int threads) {
        this.process = process;
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.lines = lines;
        this.dir = dir;
        this.stderrLog = stderrLog;
        this.ready = ready;
        this.threads = threads;
    }

    /** Debian's python3-torch lives here; on other machines (a GPU box's pip PyTorch) python3 on PATH has torch. */
    static final String DEBIAN_PYTHON = "/usr/bin/python3";
    private static volatile String python;

    /**
     * The Python to run: $JRESNET_PYTHON; else the first of {@code python3} on PATH and {@value #DEBIAN_PYTHON}
     * that has the torch package (checked once, without importing it); else {@code python3} on PATH (or
     * {@value #DEBIAN_PYTHON} when PATH has none), whose missing torch the peer then reports.
     */
    static String python() {
        String env = System.getenv("JRESNET_PYTHON");
        if (env != null && !env.isBlank()) {
            return env;
        }
        String p = python;
        if (p == null) {
            p = choosePython(System.getenv("PATH"));
            python = p;
        }
        return p;
    }

    /** The candidates in order: python3 found on {@code path}, then {@value #DEBIAN_PYTHON} (each once). */
    static List<String> pythonCandidates(String path) {
        java.util.LinkedHashSet<String> c = new java.util.LinkedHashSet<>();
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                if (dir.isEmpty()) {
                    continue;
                }
                Path exe = Path.of(dir, "python3");
                if (Files.isRegularFile(exe) && Files.isExecutable(exe)) {
                    c.add(exe.toString());
                    break;
                }
            }
        }
        if (Files.isExecutable(Path.of(DEBIAN_PYTHON))) {
            c.add(DEBIAN_PYTHON);
        }
        return List.copyOf(c);
    }

    private static String choosePython(String path) {
        List<String> candidates = pythonCandidates(path);
        for (String c : candidates) {
            if (hasTorch(c)) {
                return c;
            }
        }
        return candidates.isEmpty() ? "python3" : candidates.get(0);
    }

    /** Whether {@code python} can find the torch package (importlib.util.find_spec: fast, imports nothing). */
    static boolean hasTorch(String python) {
        try {
            Process p = new ProcessBuilder(python, "-c",
                    "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('torch') else 1)")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Starts the peer with {@code model}'s weights. {@code mode} is eager or compile; {@code precision} fp32, tf32
     * or fp16 (which the script runs in channels_last).
     */
    static PyTorchPeer start(ResNet model, String device, String precision, String mode, int threads)
            throws PeerUnavailableException {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("jresnet-bench-pytorch-");
            Path script = script(dir);
            Path weights = dir.resolve("weights.safetensors");
            SafetensorsWriter.write(weights, model.exportWeights(null), DataType.F32, Map.of());
            Path log = dir.resolve("stderr.log");
            List<String> cmd = List.of(python(), script.toString(), "--weights", weights.toString(),
                    "--arch", model.architecture().id(), "--variant", model.architecture().variant().id(),
                    "--classes", String.valueOf(model.architecture().numClasses()),
                    "--threads", String.valueOf(threads), "--device", device, "--precision", precision, "--mode", mode);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(log.toFile());
            // OpenMP workers otherwise spin after each run and would steal jresnet's cores between turns.
            pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
            pb.environment().put("PYTHONUNBUFFERED", "1");
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new PeerUnavailableException(python() + " is not runnable (" + e.getMessage()
                        + "); set JRESNET_PYTHON to a Python with torch and torchvision");
            }
            BlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread reader = new Thread(() -> pump(p.getInputStream(), lines), "pytorch-peer-stdout");
            reader.setDaemon(true);
            reader.start();
            String first = lines.poll(START_TIMEOUT_S, TimeUnit.SECONDS);
            if (first == null || !first.startsWith("ready ")) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                String why = first == null ? "no answer within " + START_TIMEOUT_S + " s"
                        : first.equals(EOF) ? "exited with status " + p.exitValue() : "said \"" + first + "\"";
                throw new PeerUnavailableException(python() + " " + SCRIPT + " " + why + ": " + lastLine(log));
            }
            PyTorchPeer peer = new PyTorchPeer(p, lines, dir, log, first.substring(6), threads);
            dir = null; // the peer owns it now
            return peer;
        } catch (IOException e) {
            throw new PeerUnavailableException("cannot prepare the PyTorch peer: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PeerUnavailableException("interrupted while starting the PyTorch peer", e);
        } finally {
            if (dir != null) {
                deleteTree(dir);
            }
        }
    }

    /**
     * The script: from the checkout ($JRESNET_HOME, set by the launcher, or a parent of the working directory)
     * so that edits take effect without a rebuild, else the copy packed into this jar.
     */
    private static Path script(Path tmp) throws IOException, PeerUnavailableException {
        List<Path> roots = new ArrayList<>();
        String home = System.getenv("JRESNET_HOME");
        if (home != null && !home.isBlank()) {
            roots.add(Path.of(home));
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            roots.add(p);
        }
        for (Path root : roots) {
            Path s = root.resolve(SCRIPT);
            if (Files.isRegularFile(s)) {
                return s;
            }
        }
        try (InputStream in = PyTorchPeer.class.getResourceAsStream("peers/pytorch_peer.py")) {
            if (in == null) {
                throw new PeerUnavailableException(SCRIPT + " is neither in a checkout above "
                        + Path.of("").toAbsolutePath() + " nor in the bench jar");
            }
            Path s = tmp.resolve("pytorch_peer.py");
            Files.copy(in, s, StandardCopyOption.REPLACE_EXISTING);
            return s;
        }
    }

    private static void pump(InputStream in, BlockingQueue<String> lines) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
            }
        } catch (IOException ignored) {
            // the process went away; EOF below tells the waiting side
        }
        lines.add(EOF);
    }

    private static String lastLine(Path log) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (int i = all.size() - 1; i >= 0; i--) {
                if (!all.get(i).isBlank()) {
                    return all.get(i).strip();
                }
            }
            return "(nothing on stderr)";
        } catch (IOException e) {
            return "(stderr unreadable: " + e.getMessage() + ")";
        }
    }

    /** Sends one request and returns the text after "ok", or throws with the peer's error. */
    private String request(String line) throws IOException, InterruptedException {
        stdin.write(line + "\n");
        stdin.flush();
        String answer = lines.poll(RUN_TIMEOUT_S, TimeUnit.SECONDS);
        if (answer == null) {
            throw new IOException("PyTorch peer: no answer to \"" + line + "\" within " + RUN_TIMEOUT_S + " s");
        }
        if (answer.equals(EOF)) {
            throw new IOException("PyTorch peer exited during \"" + line + "\": " + lastLine(stderrLog));
        }
        if (answer.equals("ok") || answer.startsWith("ok ")) {
            return answer.substring(2).strip();
        }
        throw new IOException("PyTorch peer failed \"" + line + "\": " + answer);
    }

    @Override
    public String name() {
        return "pytorch";
    }

    /** What the script said when ready: torch and torchvision versions, device, mode, precision, threads. */
    @Override
    public String detail() {
        return "PyTorch subprocess: " + ready;
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public void load(Tensor input) throws IOException, InterruptedException {
        Path npy = dir.resolve("input.npy");
        Npy.write(npy, input);
        request("load " + npy);
        Files.deleteIfExists(npy);
    }

    @Override
    public double run(boolean keepLogits) throws IOException, InterruptedException {
        if (!keepLogits) {
            return Double.parseDouble(request("run"));
        }
        Path npy = dir.resolve("logits.npy");
        double t = Double.parseDouble(request("run " + npy));
        logits = Npy.read(npy).data();
        Files.deleteIfExists(npy);
        return t;
    }

    @Override
    public float[] logits() {
        return logits;
    }

    @Override
    public void close() {
        try {
            stdin.write("quit\n");
            stdin.flush();
            stdin.close();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (IOException | InterruptedException e) {
            process.destroyForcibly();
        } finally {
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temporary folder is harmless
        }
    }
}
