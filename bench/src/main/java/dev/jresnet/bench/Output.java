package dev.jresnet.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The run's numbers as tables (terminal and Markdown share them) and as one JSON document. */
final class Output {
    private Output() {}

    static String f(String fmt, Object... args) {
        return String.format(Locale.ROOT, fmt, args);
    }

    /** Lines describing a whole-model run: what, where, when, with which settings. */
    static List<String> header(Results.RunInfo i, List<Results.PeerStatus> peers) {
        return header(i, peers, true);
    }

    /** The kernel lab's header: no weights, no peers; kernels rather than engines take turns. */
    static List<String> labHeader(Results.RunInfo i) {
        return header(i, List.of(), false);
    }

    /** The header of a lab run, CPU or GPU. */
    static List<String> labHeader(Results.LayerRun run) {
        if (!run.gpu()) {
            return labHeader(run.info());
        }
        Results.RunInfo i = run.info();
        List<String> l = new ArrayList<>(header(i, List.of(), false));
        l.set(l.size() - 1, f("timing:   per valid algorithm, warm-up runs for about %.3f s, then timed runs for about "
                + "%.3f s (at least %d, at most %d), each between two CUDA events on one stream, queued back to back; "
                + "the median is reported", i.warmup(), i.seconds(), LayerLab.MIN_RUNS, run.maxRuns()));
        l.add("checks:   every output against CpuOps.conv2d on the same input and weights (fp32 data; fp16 inputs are "
                + "rounded on the way in): max rel err = max |out - cpu| / max |cpu|, valid if <= 1e-5 (fp32), "
                + "1e-2 (tf32, fp16); invalid algorithms are not timed");
        l.add("timed:    cudnnConvolutionForward alone (the engine fuses bias and ReLU into "
                + "cudnnConvolutionBiasActivationForward with the same algorithm); * = the engine's pick "
                + "(ConvAlgorithms, heuristics, for this shape, precision and batch)");
        return l;
    }

    private static List<String> header(Results.RunInfo i, List<Results.PeerStatus> peers, boolean model) {
        List<String> l = new ArrayList<>();
        MachineInfo m = i.machine();
        l.add(f("date:     %s", m.date()));
        l.add(f("command:  %s", i.commandLine()));
        l.add(f("machine:  %s, %d cores, %s, Java %s, load average %s (1/5/15 min, at start)", m.cpuModel(),
                m.cores(), m.os(), m.java(), m.loadAverage()));
        l.add(f("network:  %s", i.network()));
        l.add(f("jresnet:  %s, %s, %d threads", i.deviceDetail(), i.precision(), i.jresnetThreads()));
        if (model) {
            l.add(f("weights:  %s%s", i.weights(), i.pretrained() ? "" : " (untrained: as fast, logits are noise)"));
            l.add(f("work:     %dx%d images, %.3f GFLOP per image (a multiply-add counts 2)", i.imageSize(),
                    i.imageSize(), i.flopsPerImage() / 1e9));
            l.add(f("timing:   a first turn, %.1f s of warm-up after it, then %.1f s of turns (one batch per engine"
                    + " per turn), at least %d turns", i.warmup(), i.seconds(), RoundRobin.MIN_TURNS));
        } else {
            l.add(f("work:     seeded random inputs and weights at the shapes of %dx%d images", i.imageSize(),
                    i.imageSize()));
            l.add(f("timing:   per shape, a first turn, %.1f s of warm-up after it, then %.1f s of turns (one run"
                    + " per kernel per turn), at least %d turns", i.warmup(), i.seconds(), RoundRobin.MIN_TURNS));
        }
        for (Results.PeerStatus p : peers) {
            l.add(f("peer:     %s: %s", p.name(), p.available() ? p.detail() : "UNAVAILABLE, skipped: " + p.detail()));
        }
        return l;
    }

    /**
     * Latencies in ms per batch; images/s = batch / mean latency; the last columns compare peers with jresnet.
     * Where a device peak is known (a GPU), throughput is in TFLOP/s and the share of the peak follows it.
     */
    static Table modelTable(List<Results.BatchResult> batches) {
        boolean peak = batches.stream().flatMap(b -> b.engines().stream()).anyMatch(e -> e.peakShare().isPresent());
        List<String> head = new ArrayList<>(List.of("batch", "engine", "runs", "median ms", "p90 ms", "p99 ms",
                "mean ms", "stddev ms", "images/s", peak ? "TFLOP/s" : "GFLOP/s"));
        if (peak) {
            head.add("% of peak");
        }
        head.add("jresnet/peer");
        head.add("rel L2");
        Table t = new Table(2, head.toArray(String[]::new));
        for (Results.BatchResult b : batches) {
            for (Results.EngineResult e : b.engines()) {
                Statistics s = e.latency();
                List<String> row = new ArrayList<>(List.of(String.valueOf(b.batch()), e.engine(),
                        String.valueOf(s.count()), ms(s.median()), ms(s.percentile(90)), ms(s.percentile(99)),
                        ms(s.mean()), ms(s.stddev()), f("%.2f", e.imagesPerSecond()),
                        peak ? f("%.2f", e.gflops() / 1e3) : f("%.1f", e.gflops())));
                if (peak) {
                    row.add(e.peakShare().isPresent() ? f("%.1f", 100 * e.peakShare().getAsDouble()) : "-");
                }
                Results.Comparison c = b.comparisons().stream().filter(x -> x.peer().equals(e.engine()))
                        .findFirst().orElse(null);
                row.add(c == null ? "-" : f("%.2fx", c.ratio()));
                row.add(c == null ? "-" : f("%.1e", c.relL2()));
                t.row(row.toArray(String[]::new));
            }
        }
        return t;
    }

    private static String ms(double seconds) {
        return Double.isFinite(seconds) ? f("%.2f", seconds * 1e3) : "-";
    }

    /** The kernel lab: one row per shape and kernel; "*" marks the kernel the engine uses. */
    static Table layerTable(List<Results.LayerResult> rows) {
        Table t = new Table(4, "section", "shape (C x H x W -> K, R x S/stride pad)", "convs", "kernel",
                "median ms", "mean ms", "GFLOP/s", "max rel err");
        for (Results.LayerResult r : rows) {
            t.row(r.section(), r.shape().label(), String.valueOf(r.shape().count()),
                    (r.inUse() ? "* " : "  ") + r.kernel(), ms(r.latency().median()), ms(r.latency().mean()),
                    f("%.1f", r.gflops()), f("%.1e", r.maxRelError()));
        }
        return t;
    }

    /** A step without multiply-adds (max-pool) has no GFLOP/s: "-", not NaN. */
    private static String gflops(double g) {
        return Double.isFinite(g) ? f("%.1f", g) : "-";
    }

    /** The engine's forward pass by class of step, in CPU-PERFORMANCE.md's order. */
    static Table profileGroups(Results.Profile p) {
        Results.PeerProfile peer = p.peer();
        boolean warm = p.hasWarm();
        List<String> head = new ArrayList<>(List.of("class", "steps", "ms", "GFLOP/s", "share"));
        if (warm) {
            head.addAll(List.of("warm ms", "pass/warm"));
        }
        if (peer != null) {
            head.addAll(List.of(peer.name() + " ms", "jresnet/" + peer.name()));
        }
        Table t = new Table(1, head.toArray(String[]::new));
        for (Results.GroupTime g : p.groups()) {
            List<String> row = new ArrayList<>(List.of(g.group(), String.valueOf(g.steps()), ms(g.seconds()),
                    gflops(g.gflops()), f("%.1f %%", 100 * g.share())));
            if (warm) {
                row.addAll(warmCells(p, g.group()));
            }
            if (peer != null) {
                double ps = p.peerSeconds(g.group());
                row.addAll(List.of(ms(ps), ratio(ps, g.seconds())));
            }
            t.row(row.toArray(String[]::new));
        }
        List<String> all = new ArrayList<>(List.of("all steps", String.valueOf(p.steps().size()),
                ms(p.stepsSeconds()),
                f("%.1f", p.steps().stream().mapToDouble(s -> s.flops()).sum() / p.stepsSeconds() / 1e9),
                f("%.1f %%", 100 * p.stepsSeconds() / p.forward().mean())));
        if (warm) {
            all.addAll(warmCells(p, null));
        }
        List<String> none = warm ? List.of("-", "-") : List.of();
        if (peer != null) {
            all.addAll(List.of(ms(peer.stepsSeconds()), ratio(peer.stepsSeconds(), p.stepsSeconds())));
            t.row(all.toArray(String[]::new));
            List<String> other = new ArrayList<>(List.of("other nodes (" + peer.name() + ")", "-", "-", "-", "-"));
            other.addAll(none);
            other.addAll(List.of(ms(peer.unmatchedSeconds()), "-"));
            t.row(other.toArray(String[]::new));
            List<String> whole = new ArrayList<>(List.of("whole pass (median)", "-", ms(p.forward().median()), "-",
                    "-"));
            whole.addAll(none);
            whole.addAll(List.of(ms(peer.forward().median()), ratio(peer.forward().median(), p.forward().median())));
            t.row(whole.toArray(String[]::new));
        } else {
            t.row(all.toArray(String[]::new));
        }
        return t;
    }

    /** A class's (null: all steps') warm ms, the sum of its steps' warm medians, and its pass/warm ratio of medians. */
    private static List<String> warmCells(Results.Profile p, String group) {
        double warm = p.medianSeconds(group, true);
        return List.of(ms(warm), slower(p.medianSeconds(group, false), warm));
    }

    /** "1.23x": how much longer a step takes in the pass than alone and warm, or "-". */
    private static String slower(double passSeconds, double warmSeconds) {
        return passSeconds > 0 && warmSeconds > 0 ? f("%.2fx", passSeconds / warmSeconds) : "-";
    }

    /** "0.74x": the peer's time over jresnet's (above 1: jresnet faster), or "-". */
    private static String ratio(double peerSeconds, double jresnetSeconds) {
        return peerSeconds > 0 && jresnetSeconds > 0 ? f("%.2fx", peerSeconds / jresnetSeconds) : "-";
    }

    /** The engine's forward pass step by step (shapes per image: C x H x W). */
    static Table profileSteps(Results.Profile p) {
        Results.PeerProfile peer = p.peer();
        boolean warm = p.hasWarm();
        List<String> head = new ArrayList<>(List.of("step", "name", "class", "shape (in -> out)", "median ms",
                "mean ms", "GFLOP/s", "share"));
        if (warm) {
            head.addAll(List.of("warm ms", "pass/warm"));
        }
        if (peer != null) {
            head.addAll(List.of(peer.name() + " median ms", "jresnet/" + peer.name()));
        }
        Table t = new Table(4, head.toArray(String[]::new));
        for (Results.StepTime s : p.steps()) {
            List<String> row = new ArrayList<>(List.of(String.valueOf(s.index()), s.name(), s.group(), s.shape(),
                    ms(s.latency().median()), ms(s.latency().mean()), gflops(s.gflops()),
                    f("%.1f %%", 100 * s.share())));
            if (warm) {
                row.addAll(List.of(ms(s.warm().median()), slower(s.latency().median(), s.warm().median())));
            }
            if (peer != null) {
                Statistics ps = peer.steps().get(s.index());
                row.addAll(List.of(ps == null ? "-" : ms(ps.median()),
                        ps == null ? "-" : ratio(ps.median(), s.latency().median())));
            }
            t.row(row.toArray(String[]::new));
        }
        return t;
    }

    private static String us(double seconds) {
        return Double.isFinite(seconds) ? f("%.1f", seconds * 1e6) : "-";
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "-" : f("%.1f", bytes / (1024.0 * 1024.0));
    }

    /** "yes", "NO (> 1e-05)", "unsupported" or "failed". */
    static String validity(Results.LayerResult r) {
        return switch (r.status()) {
            case VALID -> "yes";
            case INVALID -> f("NO (> %.0e)", r.tolerance());
            case UNSUPPORTED -> "unsupported";
            case FAILED -> "failed";
        };
    }

    /** The GPU lab: one row per shape, precision and cuDNN algorithm; "*" marks the engine's pick. */
    static Table gpuLayerTable(List<Results.LayerResult> rows) {
        Table t = new Table(4, "precision", "shape (C x H x W -> K, R x S/stride pad)", "convs", "algorithm",
                "median us", "p90 us", "TFLOP/s", "workspace MiB", "max rel err", "valid");
        for (Results.LayerResult r : rows) {
            t.row(r.precision(), r.shape().label(), String.valueOf(r.shape().count()),
                    (r.inUse() ? "* " : "  ") + r.kernel(),
                    r.timed() ? us(r.latency().median()) : "-", r.timed() ? us(r.latency().percentile(90)) : "-",
                    Double.isFinite(r.gflops()) ? f("%.2f", r.gflops() / 1e3) : "-", mib(r.workspaceBytes()),
                    Double.isFinite(r.maxRelError()) ? f("%.1e", r.maxRelError()) : "-", validity(r));
        }
        return t;
    }

    /** One shape of a GPU lab section: the engine's pick and the fastest valid algorithm, with median seconds. */
    record ShapeSummary(ConvShape shape, String pick, double pickSeconds, String best, double bestSeconds) {}

    /**
     * One section (precision) of a GPU lab: how many algorithm runs were valid, invalid, unsupported or failed, the
     * pick and the best per shape, and the totals over a forward pass (each shape's time times its number of
     * convolutions) of the picks and of the best, over the shapes where both were timed.
     */
    record SectionSummary(String section, String precision, int rows, int valid, int invalid, int unsupported,
                          int failed, List<ShapeSummary> shapes, double pickedTotal, double bestTotal,
                          int shapesWithoutTimedPick) {}

    static List<SectionSummary> summaries(List<Results.LayerResult> rows) {
        java.util.Map<String, List<Results.LayerResult>> bySection = new java.util.LinkedHashMap<>();
        for (Results.LayerResult r : rows) {
            bySection.computeIfAbsent(r.section(), k -> new ArrayList<>()).add(r);
        }
        List<SectionSummary> out = new ArrayList<>();
        for (List<Results.LayerResult> sec : bySection.values()) {
            int[] count = new int[Results.LayerStatus.values().length];
            java.util.Map<ConvShape, List<Results.LayerResult>> byShape = new java.util.LinkedHashMap<>();
            for (Results.LayerResult r : sec) {
                count[r.status().ordinal()]++;
                byShape.computeIfAbsent(r.shape(), k -> new ArrayList<>()).add(r);
            }
            List<ShapeSummary> shapes = new ArrayList<>();
            double picked = 0, best = 0;
            int missing = 0;
            for (java.util.Map.Entry<ConvShape, List<Results.LayerResult>> e : byShape.entrySet()) {
                Results.LayerResult pick = null, fastest = null;
                for (Results.LayerResult r : e.getValue()) {
                    if (r.inUse()) {
                        pick = r;
                    }
                    if (r.timed() && (fastest == null || r.latency().median() < fastest.latency().median())) {
                        fastest = r;
                    }
                }
                double ps = pick != null && pick.timed() ? pick.latency().median() : Double.NaN;
                double bs = fastest != null ? fastest.latency().median() : Double.NaN;
                shapes.add(new ShapeSummary(e.getKey(), pick == null ? null : pick.kernel(), ps,
                        fastest == null ? null : fastest.kernel(), bs));
                if (Double.isFinite(ps) && Double.isFinite(bs)) {
                    picked += ps * e.getKey().count();
                    best += bs * e.getKey().count();
                } else {
                    missing++;
                }
            }
            Results.LayerResult first = sec.get(0);
            out.add(new SectionSummary(first.section(), first.precision(), sec.size(),
                    count[Results.LayerStatus.VALID.ordinal()], count[Results.LayerStatus.INVALID.ordinal()],
                    count[Results.LayerStatus.UNSUPPORTED.ordinal()], count[Results.LayerStatus.FAILED.ordinal()],
                    shapes, picked, best, missing));
        }
        return out;
    }

    /** The GPU lab's compact summary, as lines: per precision, counts, pick vs fastest per shape, totals. */
    static List<String> gpuSummary(List<Results.LayerResult> rows) {
        List<String> l = new ArrayList<>();
        for (SectionSummary s : summaries(rows)) {
            l.add(f("%s: %d of %d algorithm runs valid (%d invalid, %d unsupported, %d failed) on %d shapes",
                    s.section(), s.valid(), s.rows(), s.invalid(), s.unsupported(), s.failed(), s.shapes().size()));
            int width = s.shapes().stream().mapToInt(x -> x.shape().label().length()).max().orElse(10);
            for (ShapeSummary x : s.shapes()) {
                String pick = x.pick() == null ? "pick -" : f("pick %s %s us", x.pick(), us(x.pickSeconds()));
                String best = x.best() == null ? "no valid algorithm" : f("best %s %s us", x.best(), us(x.bestSeconds()));
                String ratio = Double.isFinite(x.pickSeconds()) && Double.isFinite(x.bestSeconds())
                        ? f(" (pick/best %.2fx)", x.pickSeconds() / x.bestSeconds()) : "";
                l.add(f("  %-" + width + "s x%d  %-40s %s%s", x.shape().label(), x.shape().count(), pick, best, ratio));
            }
            l.add(f("  per forward pass (each shape x its convs): picked %s us, best %s us (%s)%s",
                    us(s.pickedTotal()), us(s.bestTotal()),
                    s.bestTotal() > 0 ? f("picked/best %.2fx", s.pickedTotal() / s.bestTotal()) : "-",
                    s.shapesWithoutTimedPick() > 0 ? f("; %d shape(s) left out: pick not timed or no valid algorithm",
                            s.shapesWithoutTimedPick()) : ""));
        }
        return l;
    }

    // ---- JSON -------------------------------------------------------------------------------------------

    static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Non-finite numbers become null: JSON has no NaN. */
    private static void num(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }

    /** The engine's forward pass: the whole pass, the classes, then every step. */
    private static void profile(ObjectNode o, Results.Profile p) {
        o.put("engine", p.engine() + " (fused convolutions, max-pool, avg-pool, fc), each step timed in real passes;"
                + " steps[].warm: the step run again right after itself on the same operands (alone and warm), "
                + EngineProfile.WARM_REPEATS + " runs (their median one sample), in an untimed pass after every "
                + EngineProfile.WARM_EVERY + " timed ones");
        o.put("batch", p.batch());
        o.put("passes", p.passes());
        latency(o.putObject("forward"), p.forward());
        num(o, "steps_total_ms", p.stepsSeconds() * 1e3);
        ArrayNode groups = o.putArray("groups");
        for (Results.GroupTime g : p.groups()) {
            ObjectNode go = groups.addObject();
            go.put("group", g.group());
            go.put("steps", g.steps());
            num(go, "ms", g.seconds() * 1e3);
            num(go, "gflops", g.gflops());
            num(go, "share", g.share());
            if (p.hasWarm()) {
                num(go, "median_ms", p.medianSeconds(g.group(), false) * 1e3);
                num(go, "warm_median_ms", p.medianSeconds(g.group(), true) * 1e3);
            }
            if (p.peer() != null) {
                num(go, "peer_ms", p.peerSeconds(g.group()) * 1e3);
            }
        }
        if (p.peer() != null) {
            Results.PeerProfile peer = p.peer();
            ObjectNode po = o.putObject("peer");
            po.put("name", peer.name());
            po.put("detail", peer.detail());
            po.put("how", "one peer run after each profiled pass; its profiler's node times matched to the steps by"
                    + " name; groups[].peer_ms and steps[].peer.latency_ms are its (null: no node matched)");
            latency(po.putObject("forward"), peer.forward());
            po.put("nodes", peer.nodes());
            po.put("matched_steps", peer.steps().size());
            num(po, "other_nodes_ms", peer.unmatchedSeconds() * 1e3);
        }
        ArrayNode steps = o.putArray("steps");
        for (Results.StepTime s : p.steps()) {
            ObjectNode so = steps.addObject();
            so.put("index", s.index());
            so.put("name", s.name());
            so.put("group", s.group());
            so.put("shape", s.shape());
            so.put("flops", s.flops());
            latency(so, s.latency());
            num(so, "gflops", s.gflops());
            num(so, "share", s.share());
            if (s.warm() != null) {
                latency(so.putObject("warm"), s.warm());
            }
            if (p.peer() != null) {
                Statistics ps = p.peer().steps().get(s.index());
                if (ps == null) {
                    so.putNull("peer");
                } else {
                    latency(so.putObject("peer"), ps);
                }
            }
        }
    }

    private static ObjectNode info(Results.RunInfo i) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("date", i.machine().date());
        root.put("command", i.commandLine());
        root.put("network", i.network());
        ObjectNode m = root.putObject("machine");
        m.put("cores", i.machine().cores());
        m.put("cpu_model", i.machine().cpuModel());
        m.put("os", i.machine().os());
        m.put("java", i.machine().java());
        m.put("max_heap_bytes", i.machine().maxHeapBytes());
        m.put("load_average", i.machine().loadAverage());
        ObjectNode j = root.putObject("jresnet");
        j.put("device", i.device());
        j.put("device_detail", i.deviceDetail());
        j.put("precision", i.precision());
        j.put("cpu_kernel", i.cpuKernel());
        j.put("threads", i.jresnetThreads());
        j.put("weights", i.weights());
        j.put("pretrained", i.pretrained());
        ObjectNode s = root.putObject("settings");
        s.put("warmup_s", i.warmup());
        s.put("seconds", i.seconds());
        s.put("min_turns", RoundRobin.MIN_TURNS);
        s.put("image_size", i.imageSize());
        s.put("percentile_method", Statistics.PERCENTILE_METHOD);
        s.put("images_per_s", "batch / mean latency");
        s.put("rel_l2", "||jresnet - peer|| / ||peer|| over the logits of the first batch");
        s.put("ratio", "jresnet images/s / peer images/s");
        root.put("flops_per_image", i.flopsPerImage());
        return root;
    }

    private static ObjectNode latency(ObjectNode parent, Statistics s) {
        ObjectNode l = parent.putObject("latency_ms");
        num(l, "median", s.median() * 1e3);
        num(l, "p90", s.percentile(90) * 1e3);
        num(l, "p99", s.percentile(99) * 1e3);
        num(l, "mean", s.mean() * 1e3);
        num(l, "stddev", s.stddev() * 1e3);
        num(l, "min", s.min() * 1e3);
        num(l, "max", s.max() * 1e3);
        ArrayNode samples = l.putArray("samples");
        for (double v : s.sorted()) {
            samples.add(v * 1e3);
        }
        return l;
    }

    static String json(Results.ModelRun run) throws java.io.IOException {
        ObjectNode root = info(run.info());
        ArrayNode peers = root.putArray("peers");
        for (Results.PeerStatus p : run.peers()) {
            ObjectNode o = peers.addObject();
            o.put("name", p.name());
            o.put("available", p.available());
            o.put(p.available() ? "detail" : "reason", p.detail());
            if (p.available()) {
                o.put("threads", p.threads());
            }
        }
        ArrayNode results = root.putArray("results");
        for (Results.BatchResult b : run.batches()) {
            ObjectNode bo = results.addObject();
            bo.put("batch", b.batch());
            ArrayNode engines = bo.putArray("engines");
            for (Results.EngineResult e : b.engines()) {
                ObjectNode eo = engines.addObject();
                eo.put("engine", e.engine());
                eo.put("runs", e.latency().count());
                latency(eo, e.latency());
                num(eo, "images_per_s", e.imagesPerSecond());
                num(eo, "gflops", e.gflops());
                num(eo, "tflops", e.gflops() / 1e3);
                if (e.peakShare().isPresent()) {
                    num(eo, "peak_share", e.peakShare().getAsDouble());
                } else {
                    eo.putNull("peak_share");
                }
            }
            ArrayNode comps = bo.putArray("comparisons");
            for (Results.Comparison c : b.comparisons()) {
                ObjectNode co = comps.addObject();
                co.put("peer", c.peer());
                num(co, "ratio", c.ratio());
                num(co, "rel_l2", c.relL2());
            }
        }
        return MAPPER.writeValueAsString(root);
    }

    static String json(Results.LayerRun run) throws java.io.IOException {
        ObjectNode root = info(run.info());
        root.put("batch", run.batch());
        root.put("kind", run.gpu() ? "cuda" : "cpu");
        if (run.gpu()) {
            ((ObjectNode) root.get("settings")).put("max_runs", run.maxRuns());
            ((ObjectNode) root.get("settings")).put("min_runs", LayerLab.MIN_RUNS);
            ((ObjectNode) root.get("settings")).put("timing", "CUDA events around each cudnnConvolutionForward; median");
            ((ObjectNode) root.get("settings")).put("max_rel_error", "max |out - CpuOps.conv2d| / max |CpuOps.conv2d|");
            ArrayNode sum = root.putArray("summary");
            for (SectionSummary s : summaries(run.rows())) {
                ObjectNode so = sum.addObject();
                so.put("section", s.section());
                so.put("precision", s.precision());
                so.put("algorithm_runs", s.rows());
                so.put("valid", s.valid());
                so.put("invalid", s.invalid());
                so.put("unsupported", s.unsupported());
                so.put("failed", s.failed());
                num(so, "picked_total_us", s.pickedTotal() * 1e6);
                num(so, "best_total_us", s.bestTotal() * 1e6);
                so.put("shapes_left_out_of_totals", s.shapesWithoutTimedPick());
                ArrayNode shapes = so.putArray("shapes");
                for (ShapeSummary x : s.shapes()) {
                    ObjectNode xo = shapes.addObject();
                    xo.put("shape", x.shape().label());
                    xo.put("convs", x.shape().count());
                    xo.put("pick", x.pick());
                    num(xo, "pick_us", x.pickSeconds() * 1e6);
                    xo.put("best", x.best());
                    num(xo, "best_us", x.bestSeconds() * 1e6);
                }
            }
        }
        if (run.profile() != null) {
            profile(root.putObject("profile"), run.profile());
        }
        ArrayNode layers = root.putArray("layers");
        for (Results.LayerResult r : run.rows()) {
            ObjectNode o = layers.addObject();
            o.put("section", r.section());
            ConvShape s = r.shape();
            ObjectNode so = o.putObject("shape");
            so.put("c", s.c());
            so.put("k", s.k());
            so.put("kernel", s.r());
            so.put("stride", s.stride());
            so.put("pad", s.pad());
            so.put("h", s.h());
            so.put("w", s.w());
            so.put("convs", s.count());
            so.put("first", s.first());
            so.put("flops_per_image", s.flopsPerImage());
            o.put("precision", r.precision());
            o.put("algorithm", r.kernel());
            o.put("in_use", r.inUse());
            o.put("status", r.status().id());
            o.put("valid", r.status() == Results.LayerStatus.VALID);
            if (!r.note().isEmpty()) {
                o.put("note", r.note());
            }
            o.put("runs", r.timed() ? r.latency().count() : 0);
            if (r.timed()) {
                latency(o, r.latency());
            } else {
                o.putNull("latency_ms");
            }
            num(o, "gflops", r.gflops());
            num(o, "tflops", r.gflops() / 1e3);
            num(o, "max_rel_error", r.maxRelError());
            o.put("tolerance", r.tolerance());
            if (r.workspaceBytes() >= 0) {
                o.put("workspace_bytes", r.workspaceBytes());
            } else {
                o.putNull("workspace_bytes");
            }
        }
        return MAPPER.writeValueAsString(root);
    }
}
