package dev.jresnet.bench;

import dev.jresnet.cpu.Gemm;
import dev.jresnet.cpu.Parallel;
import dev.jresnet.cuda.CudaAvailability;
import dev.jresnet.cuda.Cudnn;
import dev.jresnet.dnnl.CpuEngines;
import dev.jresnet.dnnl.Dnnl;
import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.CpuEngine;
import dev.jresnet.graph.Network;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.DeviceUnavailableException;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Precision;
import dev.jresnet.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code jresnet bench}: ResNet speed (ResNet-50 unless --arch or the weights say otherwise), alone or against peers
 * on the same weights and input; or the kernel lab.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Time ResNet inference (resnet50 unless --arch or the weights say otherwise): latency percentiles, images/s and GFLOP/s per batch size, "
                + "optionally against ONNX Runtime and PyTorch running the same weights on the same input, "
                + "interleaved with jresnet (one batch per engine per turn).",
                "With --layers: the engine's CPU forward pass profiled step by step (fused convolutions, pools, fc), "
                        + "then every distinct convolution shape of the network (resnet50 unless --arch) on each CPU "
                        + "GEMM kernel, "
                        + "checked against the plain kernel, then timed; with --layers --device cuda, on every cuDNN "
                        + "forward algorithm, checked against the CPU, then timed with CUDA events."})
public final class BenchCommand implements Callable<Integer> {
    static final String DEFAULT_BATCHES = "1,8,32,256";
    static final String DEFAULT_LAYER_BATCH = "8";
    static final double DEFAULT_SECONDS = 10, DEFAULT_WARMUP = 3;
    static final double DEFAULT_LAYER_SECONDS = 1, DEFAULT_LAYER_WARMUP = 0.5;
    static final String DEFAULT_GPU_LAYER_BATCH = "32";
    static final double DEFAULT_GPU_LAYER_SECONDS = 0.1, DEFAULT_GPU_LAYER_WARMUP = 0.02;
    static final int DEFAULT_GPU_LAYER_RUNS = 50;
    static final int IMAGE_SIZE = 224;
    static final List<String> PEERS = List.of("onnxruntime", "pytorch");

    @Spec
    CommandSpec spec;

    @Option(names = "--device", paramLabel = "D", defaultValue = "cpu",
            description = "cpu, cuda or cuda:N. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--batch", paramLabel = "N[,N...]",
            description = "Batch sizes, comma-separated. Default: " + DEFAULT_BATCHES + " (--layers: "
                    + DEFAULT_LAYER_BATCH + ").")
    String batch;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "fp32",
            description = "fp32, tf32 or fp16 (tf32 and fp16 need --device cuda); with --layers --device cuda also a "
                    + "list (fp16,fp32) or all. Default: ${DEFAULT-VALUE}.")
    String precision;

    @Option(names = "--seconds", paramLabel = "S",
            description = "Timed wall time per batch size, shared by the engines in turns. Default: "
                    + "10 (--layers: 1 per shape).")
    Double seconds;

    @Option(names = "--warmup", paramLabel = "S",
            description = "Untimed wall time before timing, after a first (cold) turn. Default: 3 (--layers: 0.5 per"
                    + " shape).")
    Double warmup;

    @Option(names = "--compare", paramLabel = "PEER[,PEER...]",
            description = "Peers to run on the same weights and input: onnxruntime, pytorch. With --layers: "
                    + "onnxruntime, its profiler's time per layer beside the engine's.")
    String compare;

    @Option(names = "--json", description = "Print one JSON document with every number instead of tables.")
    boolean json;

    @Option(names = "--report", paramLabel = "DIR", description = "Also write DIR/summary.md and PNG charts.")
    Path report;

    @Option(names = "--weights", paramLabel = "FILE",
            description = "Weights (.pth, .safetensors, .onnx). Default: $JRESNET_WEIGHTS, else "
                    + "weights/resnet50.safetensors if present, else seeded untrained ones (as fast, logits noise).")
    Path weights;

    @Option(names = "--arch", paramLabel = "NAME",
            description = "Architecture (resnet18 ... resnext101_64x4d). Default: the weights', else resnet50.")
    String arch;

    @Option(names = "--threads", paramLabel = "N",
            description = "Threads for jresnet and every peer. Default: the available processors.")
    Integer threads;

    @Option(names = "--layers", description = "Kernel lab: time the network's convolution shapes on each CPU GEMM kernel "
            + "(--device cuda: on each cuDNN forward algorithm); on the CPU, the engine's forward pass step by step "
            + "first (with --compare onnxruntime, ONNX Runtime's beside it).")
    boolean layers;

    @Option(names = "--serve", description = "Load-test `jresnet serve` on loopback: --clients threads POST images to "
            + "/v1/classify for --seconds per run, once per --batch value as the server's max batch (default 1,8: "
            + "one request at a time, then dynamic batching); every answer checked against classify.")
    boolean serve;

    @Option(names = "--clients", paramLabel = "N", description = "--serve: concurrent clients. Default: 8.")
    Integer clients;

    @Option(names = "--runs", paramLabel = "N",
            description = "GPU kernel lab: at most N timed runs per algorithm (the median is reported). Default: "
                    + DEFAULT_GPU_LAYER_RUNS + ".")
    Integer runs;

    @Option(names = "--pytorch-mode", paramLabel = "M", defaultValue = "eager",
            description = "How the PyTorch peer runs the model: eager or compile (torch.compile, PyTorch 2.x). "
                    + "With --precision fp16 it runs half precision in channels_last. Default: ${DEFAULT-VALUE}.")
    String pytorchMode;

    /**
     * The options, checked and parsed. {@code precision} is the run's precision ("fp16,fp32" for a GPU lab of
     * several), {@code precisions} the list; {@code runs} the GPU lab's maximum of timed runs per algorithm.
     */
    record Settings(Device device, int[] batches, String precision, double seconds, double warmup, List<String> peers,
                    int threads, List<String> precisions, int runs, Architecture architecture) {}

    /** Checks every option before anything slow happens, so a typo costs nothing. */
    Settings validate() {
        Device d = parseDevice(device);
        if (layers && compare != null && (d.kind() != Device.Kind.CPU || !parsePeers(compare).equals(
                List.of("onnxruntime")))) {
            throw new IllegalArgumentException("--compare with --layers takes onnxruntime alone, on the CPU (its "
                    + "profiler's time per layer beside the engine's); the other comparisons are the whole-model "
                    + "benchmark's");
        }
        if (layers && weights != null) {
            throw new IllegalArgumentException("--weights has no effect with --layers, which times random tensors");
        }
        if (serve && (layers || compare != null || report != null || json)) {
            throw new IllegalArgumentException("--serve is a load test of its own: it takes --batch (max batches), "
                    + "--clients, --seconds, --warmup, --arch, --weights and --device, not --layers, --compare, "
                    + "--report or --json");
        }
        if (clients != null && (!serve || clients < 1 || clients > 1024)) {
            throw new IllegalArgumentException(serve ? "--clients must be in 1..1024, got " + clients
                    : "--clients applies to --serve");
        }
        boolean gpuLab = layers && d.kind() == Device.Kind.CUDA;
        List<String> ps = parsePrecisions(precision);
        for (String x : ps) {
            if (d.kind() == Device.Kind.CPU && !x.equals("fp32")) {
                throw new IllegalArgumentException("--precision " + x + " needs --device cuda: the CPU path computes in fp32");
            }
        }
        if (ps.size() > 1 && !gpuLab) {
            throw new IllegalArgumentException("--precision takes several precisions (or all) only with --layers "
                    + "--device cuda, got \"" + precision + "\"");
        }
        String p = String.join(",", ps);
        if (runs != null && !gpuLab) {
            throw new IllegalArgumentException("--runs applies to the GPU kernel lab (--layers --device cuda)");
        }
        int r = runs != null ? runs : DEFAULT_GPU_LAYER_RUNS;
        if (r < 1) {
            throw new IllegalArgumentException("--runs must be at least 1, got " + r);
        }
        int[] b = parseBatches(batch != null ? batch : serve ? "1,8"
                : gpuLab ? DEFAULT_GPU_LAYER_BATCH : layers ? DEFAULT_LAYER_BATCH : DEFAULT_BATCHES);
        double s = seconds != null ? seconds
                : gpuLab ? DEFAULT_GPU_LAYER_SECONDS : layers ? DEFAULT_LAYER_SECONDS : DEFAULT_SECONDS;
        double w = warmup != null ? warmup
                : gpuLab ? DEFAULT_GPU_LAYER_WARMUP : layers ? DEFAULT_LAYER_WARMUP : DEFAULT_WARMUP;
        if (!(s > 0) || Double.isInfinite(s)) {
            throw new IllegalArgumentException("--seconds must be a positive number of seconds, got " + s);
        }
        if (!(w >= 0) || Double.isInfinite(w)) {
            throw new IllegalArgumentException("--warmup must be zero or a positive number of seconds, got " + w);
        }
        List<String> peers = parsePeers(compare);
        int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (t < 1) {
            throw new IllegalArgumentException("--threads must be at least 1, got " + t);
        }
        if (!List.of("eager", "compile").contains(pytorchMode)) {
            throw new IllegalArgumentException("--pytorch-mode must be eager or compile, got \"" + pytorchMode + "\"");
        }
        if (pytorchMode.equals("compile") && !peers.contains("pytorch")) {
            throw new IllegalArgumentException("--pytorch-mode applies to the pytorch peer: add --compare pytorch");
        }
        if (report != null && Files.exists(report) && !Files.isDirectory(report)) {
            throw new IllegalArgumentException("--report " + report + " exists and is not a folder");
        }
        if (weights != null && !Files.isRegularFile(weights)) {
            throw new IllegalArgumentException("--weights " + weights + ": no such file");
        }
        Architecture a = arch == null ? null : Architecture.of(arch);
        return new Settings(d, b, p, s, w, peers, t, ps, r, a);
    }

    /** "fp32", "fp16,fp32" or "all" (fp32, tf32, fp16), in the order given, without repeats. */
    static List<String> parsePrecisions(String s) {
        String all = s.strip().toLowerCase(Locale.ROOT);
        if (all.equals("all")) {
            return List.of("fp32", "tf32", "fp16");
        }
        Set<String> out = new LinkedHashSet<>();
        for (String part : all.split(",", -1)) {
            String x = part.strip();
            if (!List.of("fp32", "tf32", "fp16").contains(x)) {
                throw new IllegalArgumentException("--precision must be fp32, tf32 or fp16, got \"" + s + "\"");
            }
            out.add(x);
        }
        return List.copyOf(out);
    }

    static Device parseDevice(String s) {
        String d = s.toLowerCase(Locale.ROOT);
        // "auto" is not offered: a benchmark must say exactly what it measured, never pick silently.
        if (!(d.equals("cpu") || d.equals("cuda") || d.matches("cuda:\\d+"))) {
            throw new IllegalArgumentException("--device must be cpu, cuda or cuda:N, got \"" + s + "\"");
        }
        return Device.parse(d);
    }

    static int[] parseBatches(String s) {
        Set<Integer> seen = new LinkedHashSet<>();
        for (String part : s.split(",", -1)) {
            int n;
            try {
                n = Integer.parseInt(part.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--batch takes positive integers separated by commas (e.g. 1,8,32), "
                        + "got \"" + s + "\"");
            }
            if (n < 1) {
                throw new IllegalArgumentException("--batch sizes must be at least 1, got " + n);
            }
            if (!seen.add(n)) {
                throw new IllegalArgumentException("--batch lists " + n + " twice");
            }
        }
        return seen.stream().mapToInt(Integer::intValue).toArray();
    }

    static List<String> parsePeers(String s) {
        if (s == null) {
            return List.of();
        }
        Set<String> peers = new LinkedHashSet<>();
        for (String part : s.split(",", -1)) {
            String p = part.strip().toLowerCase(Locale.ROOT);
            if (!PEERS.contains(p)) {
                throw new IllegalArgumentException("--compare takes " + String.join(", ", PEERS)
                        + " (comma-separated), got \"" + part.strip() + "\"");
            }
            peers.add(p);
        }
        return List.copyOf(peers);
    }

    /**
     * jresnet's CPU pool is sized once per JVM (system property jresnet.cpu.threads, read when first used); set
     * it before anything computes, and fail rather than report a thread count that did not apply.
     */
    static void applyThreads(int threads) {
        System.setProperty("jresnet.cpu.threads", String.valueOf(threads));
        if (Parallel.threads() != threads) {
            throw new IllegalArgumentException("--threads " + threads + ": jresnet's CPU pool already runs with "
                    + Parallel.threads() + " threads in this JVM (it is sized once); start a new JVM, or set "
                    + "-Djresnet.cpu.threads=" + threads);
        }
    }

    /**
     * oneDNN's threads are OpenMP's, fixed when it loads ({@code OMP_NUM_THREADS}): where oneDNN is the CPU engine,
     * --threads must agree with them, or the peers would run on other thread counts than jresnet.
     */
    static void requireEngineThreads(int threads) {
        if (CpuEngines.chosen().onednn() && Dnnl.threads() != threads) {
            throw new IllegalArgumentException("--threads " + threads + ": oneDNN, the CPU engine here, runs on "
                    + Dnnl.threads() + " OpenMP threads, which it takes from OMP_NUM_THREADS when it loads; run "
                    + "OMP_NUM_THREADS=" + threads + " jresnet bench ..., or use jresnet's Java kernels "
                    + "(JRESNET_JAVA_OPTS=-Djresnet.cpu.engine=java)");
        }
    }

    @Override
    public Integer call() throws Exception {
        Settings s = validate();
        Report.requireNotAnInput(report, resolveWeights());
        if (threads != null) {
            applyThreads(s.threads());
            if (s.device().kind() == Device.Kind.CPU) {
                requireEngineThreads(s.threads());
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        RoundRobin.Progress progress = m -> {
            err.println("bench: " + m);
            err.flush();
        };
        if (serve) {
            return runServe(s, out, progress);
        }
        return layers ? runLayers(s, out, progress) : runModel(s, out, err, progress);
    }

    private String commandLine() {
        List<String> args = new ArrayList<>();
        args.add("jresnet");
        args.add("bench");
        List<String> original = spec.commandLine().getParseResult().originalArgs();
        // The parse result is the whole command line's, which starts with this subcommand's name.
        int from = original.indexOf(spec.name()) + 1;
        for (String a : original.subList(from, original.size())) {
            args.add(a.isEmpty() || a.matches(".*[\\s\"'$].*") ? "'" + a.replace("'", "'\\''") + "'" : a);
        }
        return String.join(" ", args);
    }

    private Path resolveWeights() {
        if (weights != null) {
            return weights;
        }
        String env = System.getenv("JRESNET_WEIGHTS");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String home = System.getenv("JRESNET_HOME");
        Path p = (home != null ? Path.of(home) : Path.of("")).resolve("weights/resnet50.safetensors");
        return Files.isRegularFile(p) ? p : null;
    }

    /**
     * The model to time. On CUDA: the run's precision, CUDA graphs on, one graph bucket per batch size (so that no
     * batch is padded to a larger bucket) and one execution context.
     */
    private ResNet buildModel(Settings s) throws java.io.IOException {
        Device d = s.device();
        ResNet.Builder b = ResNet.builder().device(d); // CUDA fails here, with the engine's reason
        if (s.architecture() != null) {
            b.architecture(s.architecture());
        }
        if (d.kind() == Device.Kind.CUDA) {
            b.precision(Precision.parse(s.precision())).cudaGraphs(true).batchBuckets(s.batches()).maxContexts(1);
        }
        Path w = resolveWeights();
        if (w != null) {
            b.weights(w);
        }
        return b.build();
    }

    /** --serve: the server under load, per max batch; exit 1 when an answer was wrong, lost or failed. */
    private int runServe(Settings s, PrintWriter out, RoundRobin.Progress progress) throws Exception {
        int n = clients != null ? clients : 8;
        try (ResNet model = buildModel(s)) {
            progress.say("jresnet on " + model.deviceDescription() + ", weights " + model.weightsDescription());
            ServeBench bench = new ServeBench(model, 8, 0);
            List<ServeBench.Run> runs = new ArrayList<>();
            for (int b : s.batches()) {
                progress.say("max batch " + b + ": " + n + " clients for " + s.seconds() + " s (after "
                        + s.warmup() + " s of warm-up)...");
                runs.add(bench.run(b, n, s.seconds(), s.warmup()));
            }
            ServeBench.print(out, runs, "jresnet serve under load: " + model.architecture().id() + " on "
                    + model.device() + ", " + n + " clients on loopback, POST /v1/classify of 8 generated 320x240 PNGs");
            boolean bad = runs.stream().anyMatch(r -> r.errors() + r.wrong() > 0 || r.answered() != r.sent()
                    || r.healthOk() != r.healthChecks());
            return bad ? 1 : 0;
        }
    }

    private int runModel(Settings s, PrintWriter out, PrintWriter err, RoundRobin.Progress progress) throws Exception {
        try (ResNet model = buildModel(s)) {
            progress.say("jresnet on " + model.deviceDescription() + ", weights " + model.weightsDescription());
            long flops = model.flopsPerImage(IMAGE_SIZE, IMAGE_SIZE);
            List<Engine> engines = new ArrayList<>();
            List<Results.PeerStatus> peers = new ArrayList<>();
            engines.add(new JResNetEngine(model));
            try {
                for (String name : s.peers()) {
                    progress.say("starting peer " + name + "...");
                    try {
                        Engine e = startPeer(name, model, s);
                        engines.add(e);
                        peers.add(new Results.PeerStatus(name, true, e.detail(), e.threads()));
                        progress.say(name + ": " + e.detail());
                    } catch (PeerUnavailableException e) {
                        peers.add(new Results.PeerStatus(name, false, e.getMessage(), 0));
                        progress.say(name + " is UNAVAILABLE, continuing without it: " + e.getMessage());
                    }
                }
                Results.RunInfo info = info(s, model, flops);
                // The GPU's name as the driver reports it ("NVIDIA H200"), which PeakFlops matches.
                OptionalDouble peak = PeakFlops.gflops(gpuName(model), s.precision());
                peak.ifPresent(g -> progress.say(String.format(Locale.ROOT, "peak of %s at %s: %.1f TFLOP/s (%s)",
                        gpuName(model), s.precision(), g / 1e3, PeakFlops.SOURCE)));
                List<Results.BatchResult> batches = ModelBench.run(engines, s.batches(), IMAGE_SIZE, flops,
                        s.warmup(), s.seconds(), peak, progress);
                Results.ModelRun run = new Results.ModelRun(info, peers, batches);
                if (json) {
                    out.println(Output.json(run));
                } else {
                    for (String l : Output.header(info, peers)) {
                        out.println(l);
                    }
                    out.println();
                    out.print(Output.modelTable(batches).text());
                    out.println("latency per batch in ms; percentiles: " + Statistics.PERCENTILE_METHOD
                            + "; images/s = batch / mean latency; jresnet/peer > 1: jresnet faster; "
                            + "rel L2 = ||jresnet - peer|| / ||peer|| on the logits");
                }
                out.flush();
                if (report != null) {
                    for (Path p : Report.write(report, run)) {
                        progress.say("wrote " + p);
                    }
                }
            } finally {
                for (Engine e : engines) {
                    e.close();
                }
            }
        }
        return 0;
    }

    private Engine startPeer(String name, ResNet model, Settings s) throws PeerUnavailableException {
        return switch (name) {
            case "onnxruntime" -> {
                if (s.device().kind() != Device.Kind.CPU) {
                    throw new PeerUnavailableException("ONNX Runtime runs on the CPU here (its CUDA provider needs "
                            + "the onnxruntime_gpu artifact), so it cannot be compared on " + s.device());
                }
                if (!onnxRuntimePresent()) {
                    throw new PeerUnavailableException("ONNX Runtime is not on the classpath (the jresnet distribution "
                            + "leaves it out; run the comparison from a checkout: ./jresnet bench --compare onnxruntime)");
                }
                yield OnnxRuntimePeer.open(model, s.threads());
            }
            case "pytorch" -> PyTorchPeer.start(model, s.device().kind() == Device.Kind.CPU ? "cpu" : "cuda",
                    s.precision(), pytorchMode, s.threads());
            default -> throw new IllegalStateException("unknown peer " + name);
        };
    }

    /** Whether ONNX Runtime's Java binding can be loaded: the distribution leaves it out (72 MB). */
    static boolean onnxRuntimePresent() {
        try {
            Class.forName("ai.onnxruntime.OrtEnvironment", false, BenchCommand.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /**
     * The engine's profile with ONNX Runtime's beside it, layer by layer: the seeded network, exported to ONNX for
     * it, on the same seeded batch, one ONNX Runtime run after each profiled pass ({@link PeerLayers}).
     */
    private Results.Profile profileBesidePeer(Settings s, Architecture a, int batch, RoundRobin.Progress progress)
            throws Exception {
        if (!onnxRuntimePresent()) {
            throw new PeerUnavailableException("ONNX Runtime is not on the classpath (the jresnet distribution leaves "
                    + "it out; run the lab from a checkout: ./jresnet bench --layers --compare onnxruntime)");
        }
        Path dir = Files.createTempDirectory("jresnet-ort-profile-");
        try (ResNet model = ResNet.builder().architecture(a).seed(0).device(Device.cpu()).build();
             OnnxRuntimePeer peer = OnnxRuntimePeer.open(model, s.threads(), dir.resolve("ort"))) {
            progress.say("beside it: " + peer.detail() + ", one run after each pass, its profiler on");
            SplittableRandom r = new SplittableRandom(7);
            Tensor x = Tensor.zeros(batch, 3, IMAGE_SIZE, IMAGE_SIZE);
            for (int i = 0; i < x.data().length; i++) {
                x.data()[i] = (float) r.nextGaussian();
            }
            try (CpuEngine engine = CpuEngines.open(model.network())) {
                return EngineProfile.run(EngineProfile.of(engine, x), new PeerLayers(peer, engine.spec(), x), batch,
                        EngineProfile.warmup(s.warmup()), EngineProfile.seconds(s.seconds()));
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** The network whose convolutions the kernel labs time: --arch, else resnet50 (the labs read no weights). */
    private static Architecture labArchitecture(Settings s) {
        return s.architecture() != null ? s.architecture() : Architecture.RESNET50;
    }

    /** The threads jresnet computes on: the CPU engine's on the CPU, the Java pool's (pre- and post-processing) else. */
    private static int cpuThreads(Device device) {
        return device.kind() == Device.Kind.CPU ? CpuEngines.threads() : Parallel.threads();
    }

    /** "cpu", or the CUDA device's name ("NVIDIA H200"). */
    static String gpuName(ResNet model) {
        return model.cudaEngine().map(e -> e.device().name()).orElse("cpu");
    }

    private Results.RunInfo info(Settings s, ResNet model, long flops) {
        return new Results.RunInfo(commandLine(), MachineInfo.current(), model.device().toString(),
                model.deviceDescription(), s.precision(), Gemm.kernelName(), cpuThreads(model.device()),
                model.weightsDescription(), model.isPretrained(), s.seconds(), s.warmup(), IMAGE_SIZE, flops,
                model.architecture().displayName());
    }

    private int runLayers(Settings s, PrintWriter out, RoundRobin.Progress progress) throws Exception {
        if (s.device().kind() != Device.Kind.CPU) {
            return runGpuLayers(s, out, progress);
        }
        Architecture a = labArchitecture(s);
        List<ConvShape> shapes = ConvShape.of(a, IMAGE_SIZE);
        ConvBackend backend = new CpuConvBackend();
        long flops = a.spec().flops(IMAGE_SIZE, IMAGE_SIZE);
        Results.RunInfo info = new Results.RunInfo(commandLine(), MachineInfo.current(), "cpu",
                Device.cpu().description(), "fp32", Gemm.kernelName(), CpuEngines.threads(), "random tensors", false,
                s.seconds(), s.warmup(), IMAGE_SIZE, flops, a.displayName());
        for (int b : s.batches()) {
            progress.say(String.format(Locale.ROOT, "kernel lab: %d shapes, batch %d, %.1f s warm-up and %.1f s "
                    + "timed per shape", shapes.size(), b, s.warmup(), s.seconds()));
            progress.say(String.format(Locale.ROOT, "engine profile: %s forward passes at batch %d, %.1f s warm-up "
                    + "and %.1f s timed", a.id(), b, EngineProfile.warmup(s.warmup()), EngineProfile.seconds(s.seconds())));
            Results.Profile profile;
            if (s.peers().isEmpty()) {
                try (CpuEngine engine = CpuEngines.open(Network.initialised(a, 1))) {
                    profile = EngineProfile.run(EngineProfile.of(engine, EngineProfile.input(b, IMAGE_SIZE)), b,
                            EngineProfile.warmup(s.warmup()), EngineProfile.seconds(s.seconds()));
                }
            } else {
                profile = profileBesidePeer(s, a, b, progress);
            }
            List<Results.LayerResult> rows = LayerLab.run(backend, shapes, b, s.warmup(), s.seconds(), progress);
            Results.LayerRun run = new Results.LayerRun(info, b, rows, profile);
            if (json) {
                out.println(Output.json(run));
            } else {
                for (String l : Output.labHeader(run)) {
                    out.println(l);
                }
                out.println("batch:    " + b);
                out.println();
                out.println(EngineProfile.headline(profile));
                out.print(Output.profileGroups(profile).text());
                out.println();
                out.print(Output.profileSteps(profile).text());
                out.println();
                out.println("each convolution shape on each kernel (unfused, CpuOps.conv2d):");
                out.print(Output.layerTable(rows).text());
                out.println("* = the kernel the engine uses; max rel err = max |out - plain| / max |plain|");
            }
            out.flush();
            if (report != null) {
                Path dir = s.batches().length == 1 ? report : report.resolve("batch" + b);
                for (Path p : Report.write(dir, run)) {
                    progress.say("wrote " + p);
                }
            }
        }
        return 0;
    }

    /**
     * The GPU kernel lab: every cuDNN forward algorithm on every shape, in each asked precision, checked against the
     * CPU and timed with CUDA events. Without a usable GPU it fails at once with the engine's reason.
     */
    private int runGpuLayers(Settings s, PrintWriter out, RoundRobin.Progress progress) throws Exception {
        CudaAvailability.Status status = CudaAvailability.backendStatus();
        if (!status.usable()) {
            throw new DeviceUnavailableException("cannot run the kernel lab on " + s.device() + ": CUDA is unusable ("
                    + status.reason() + "); " + CudaAvailability.installHint(status.reason()));
        }
        Architecture a = labArchitecture(s);
        List<ConvShape> shapes = ConvShape.of(a, IMAGE_SIZE);
        long flops = a.spec().flops(IMAGE_SIZE, IMAGE_SIZE);
        try (ConvForwardLab lab = ConvForwardLab.open(s.device().index())) {
            String detail = s.device() + " (" + lab.device().name() + ", compute capability " + lab.device().major()
                    + "." + lab.device().minor() + ", cuDNN " + Cudnn.version()
                    + "), engine's pick: heuristics, workspace limit "
                    + (lab.engineWorkspaceLimit() >> 20) + " MiB; CPU reference kernel " + Gemm.kernelName();
            progress.say("kernel lab on " + detail);
            Results.RunInfo info = new Results.RunInfo(commandLine(), MachineInfo.current(), s.device().toString(),
                    detail, s.precision(), Gemm.kernelName(), Parallel.threads(), "random tensors", false,
                    s.seconds(), s.warmup(), IMAGE_SIZE, flops, a.displayName());
            List<CudaConvBackend> backends = new ArrayList<>();
            try {
                for (String p : s.precisions()) {
                    backends.add(new CudaConvBackend(lab, Precision.parse(p)));
                }
                for (int b : s.batches()) {
                    progress.say(String.format(Locale.ROOT, "GPU kernel lab: %d shapes x %d algorithms x %s, batch %d; "
                            + "per valid algorithm about %.3f s warm-up, %.3f s timed, at most %d runs", shapes.size(),
                            ConvForwardLab.ALGORITHMS, s.precision(), b, s.warmup(), s.seconds(), s.runs()));
                    List<Results.LayerResult> rows = LayerLab.runAlone(new ArrayList<>(backends), shapes, b,
                            s.warmup(), s.seconds(), s.runs(), progress);
                    Results.LayerRun run = new Results.LayerRun(info, b, rows, true, s.runs());
                    if (json) {
                        out.println(Output.json(run));
                    } else {
                        for (String l : Output.labHeader(run)) {
                            out.println(l);
                        }
                        out.println("batch:    " + b);
                        out.println();
                        out.print(Output.gpuLayerTable(rows).text());
                        out.println("* = the engine's pick; median/p90 of CUDA-event times; TFLOP/s from the median; "
                                + "untimed: unsupported, or failed the check against the CPU");
                        out.println();
                        out.println("summary:");
                        for (String l : Output.gpuSummary(rows)) {
                            out.println(l);
                        }
                    }
                    out.flush();
                    if (report != null) {
                        Path dir = s.batches().length == 1 ? report : report.resolve("batch" + b);
                        for (Path p : Report.write(dir, run)) {
                            progress.say("wrote " + p);
                        }
                    }
                }
            } finally {
                for (CudaConvBackend b : backends) {
                    b.close();
                }
            }
        }
        return 0;
    }
}
