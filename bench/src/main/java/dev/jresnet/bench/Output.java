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

    private static List<String> header(Results.RunInfo i, List<Results.PeerStatus> peers, boolean model) {
        List<String> l = new ArrayList<>();
        MachineInfo m = i.machine();
        l.add(f("date:     %s", m.date()));
        l.add(f("command:  %s", i.commandLine()));
        l.add(f("machine:  %s, %d cores, %s, Java %s, load average %s (1/5/15 min, at start)", m.cpuModel(),
                m.cores(), m.os(), m.java(), m.loadAverage()));
        l.add(f("jresnet:  %s, %s, %d threads", i.deviceDetail(), i.precision(), i.jresnetThreads()));
        if (model) {
            l.add(f("weights:  %s%s", i.weights(), i.pretrained() ? "" : " (untrained: as fast, logits are noise)"));
            l.add(f("work:     %dx%d images, %.3f GFLOP per image (a multiply-add counts 2)", i.imageSize(),
                    i.imageSize(), i.flopsPerImage() / 1e9));
            l.add(f("timing:   %.1f s warm-up, then %.1f s of turns (one batch per engine per turn), at least %d turns",
                    i.warmup(), i.seconds(), RoundRobin.MIN_TURNS));
        } else {
            l.add(f("work:     seeded random inputs and weights at the shapes of %dx%d images", i.imageSize(),
                    i.imageSize()));
            l.add(f("timing:   per shape, %.1f s warm-up, then %.1f s of turns (one run per kernel per turn), "
                    + "at least %d turns", i.warmup(), i.seconds(), RoundRobin.MIN_TURNS));
        }
        for (Results.PeerStatus p : peers) {
            l.add(f("peer:     %s: %s", p.name(), p.available() ? p.detail() : "UNAVAILABLE, skipped: " + p.detail()));
        }
        return l;
    }

    /** Latencies in ms per batch; images/s = batch / mean latency; the last columns compare peers with jresnet. */
    static Table modelTable(List<Results.BatchResult> batches) {
        boolean peak = batches.stream().flatMap(b -> b.engines().stream()).anyMatch(e -> e.peakShare().isPresent());
        List<String> head = new ArrayList<>(List.of("batch", "engine", "runs", "median ms", "p90 ms", "p99 ms",
                "mean ms", "stddev ms", "images/s", "GFLOP/s"));
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
                        ms(s.mean()), ms(s.stddev()), f("%.2f", e.imagesPerSecond()), f("%.1f", e.gflops())));
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

    private static ObjectNode info(Results.RunInfo i) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("date", i.machine().date());
        root.put("command", i.commandLine());
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

    static String json(Results.ModelRun run) throws Exception {
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

    static String json(Results.LayerRun run) throws Exception {
        ObjectNode root = info(run.info());
        root.put("batch", run.batch());
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
            o.put("algorithm", r.kernel());
            o.put("in_use", r.inUse());
            o.put("runs", r.latency().count());
            latency(o, r.latency());
            num(o, "gflops", r.gflops());
            num(o, "max_rel_error", r.maxRelError());
        }
        return MAPPER.writeValueAsString(root);
    }
}
