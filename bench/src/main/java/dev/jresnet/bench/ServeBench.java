package dev.jresnet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jresnet.cli.InferenceServer;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.resnet.BatchingPredictor;
import dev.jresnet.resnet.Prediction;
import dev.jresnet.resnet.ResNet;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code jresnet bench --serve}: a load test of {@code jresnet serve} on loopback. For each max batch (1: one request
 * at a time; 8: dynamic batching), the server is started in this JVM, {@code clients} threads POST PNG images to
 * /v1/classify back to back for the timed seconds (after a warm-up), and every answer is checked against the model's
 * own classify of the same image (top-1 index and logit); a checker asks /v2/health/ready every 100 ms meanwhile.
 */
final class ServeBench {
    /** One run: its settings, what the clients saw, and the batches the server formed. */
    record Run(int maxBatch, int clients, double seconds, long ok, long errors, long wrong, long sent,
               double imagesPerSecond, double p50Millis, double p99Millis, double meanBatch, long healthOk,
               long healthChecks, double healthMaxMillis, String firstProblem) {
        long answered() {
            return ok + errors + wrong;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ResNet model;
    private final List<byte[]> images;
    private final List<Prediction> expected;

    ServeBench(ResNet model, int count, long seed) throws IOException {
        this.model = model;
        this.images = generate(count, seed);
        this.expected = new ArrayList<>();
        for (byte[] png : images) {
            expected.add(model.classify(ImageDecoder.decode(png, "generated.png"), 1).get(0));
        }
    }

    /** Seeded PNGs of 320x240 smooth colour fields with noise: distinct logits, a realistic decode. */
    static List<byte[]> generate(int count, long seed) throws IOException {
        List<byte[]> out = new ArrayList<>();
        Random rnd = new Random(seed);
        for (int k = 0; k < count; k++) {
            BufferedImage img = new BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB);
            double fx = 0.01 + 0.05 * rnd.nextDouble(), fy = 0.01 + 0.05 * rnd.nextDouble();
            int base = rnd.nextInt(0x1000000);
            for (int y = 0; y < 240; y++) {
                for (int x = 0; x < 320; x++) {
                    int r = (int) (127 + 100 * Math.sin(x * fx + k)) + rnd.nextInt(20);
                    int g = (int) (127 + 100 * Math.cos(y * fy - k)) + rnd.nextInt(20);
                    int b = ((base & 0xff) + x + y) & 0xff;
                    img.setRGB(x, y, (Math.min(r, 255) << 16) | (Math.min(g, 255) << 8) | b);
                }
            }
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            ImageIO.write(img, "png", png);
            out.add(png.toByteArray());
        }
        return out;
    }

    /** Starts a server with {@code maxBatch}, warms it up, loads it for {@code seconds}, stops it. */
    Run run(int maxBatch, int clients, double seconds, double warmup) throws Exception {
        BatchingPredictor.Builder b = model.batching().maxBatch(maxBatch).timeout(Duration.ofSeconds(120));
        if (maxBatch == 1) {
            b.maxWait(Duration.ZERO);   // one request at a time: nothing to wait for
        }
        BatchingPredictor predictor = b.build();
        // Each client (and the health checker) can hold two of the server's slots for a moment: its answer has
        // arrived and it has sent the next request while the server thread that answered is still finishing. With
        // threads + queue = 2 x (clients + 1) the bench never sees the server's 503 for a full pool, which
        // measures the server's overload path, not its batching.
        int threads = Math.max(4, clients + 1);
        InferenceServer server = InferenceServer.start(predictor, new InferenceServer.Options("127.0.0.1", 0,
                "model", threads, 16L << 20, 5));
        HttpClient client = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "bench-http");
            t.setDaemon(true);
            return t;
        })).build();
        ExecutorService pool = Executors.newFixedThreadPool(clients + 1);
        try {
            String url = server.url();
            load(client, url, pool, clients, warmup, null);
            long imagesBefore = predictor.metrics().images(), batchesBefore = predictor.metrics().batches();
            Tally t = new Tally();
            long start = System.nanoTime();
            Future<long[]> health = pool.submit(() -> health(client, url, start + (long) (seconds * 1e9)));
            long end = load(client, url, pool, clients, seconds, t);
            long[] h = health.get();
            double elapsed = (end - start) / 1e9;
            BatchingPredictor.Metrics m = predictor.metrics();
            long images = m.images() - imagesBefore, batches = m.batches() - batchesBefore;
            // Percentiles as everywhere in jresnet bench (Statistics: linear interpolation); 0 without answers.
            double[] lat = t.latenciesMillis();
            Statistics st = lat.length == 0 ? null : Statistics.of(lat);
            return new Run(maxBatch, clients, elapsed, t.ok.get(), t.errors.get(), t.wrong.get(), t.sent.get(),
                    t.ok.get() / elapsed, st == null ? 0 : st.median(), st == null ? 0 : st.percentile(99),
                    batches == 0 ? 0 : (double) images / batches, h[0], h[1], h[2] / 1e6, t.firstProblem);
        } finally {
            pool.shutdownNow();
            server.stop(Duration.ofSeconds(10));
        }
    }

    /** What the clients counted; latencies in nanoseconds. */
    private static final class Tally {
        final AtomicLong ok = new AtomicLong(), errors = new AtomicLong(), wrong = new AtomicLong(),
                sent = new AtomicLong();
        final List<Long> latencies = new ArrayList<>();
        volatile String firstProblem;

        synchronized void latency(long nanos) {
            latencies.add(nanos);
        }

        synchronized double[] latenciesMillis() {
            return latencies.stream().mapToDouble(n -> n / 1e6).toArray();
        }

        void problem(String p) {
            if (firstProblem == null) {
                firstProblem = p;
            }
        }
    }

    /** {@code clients} threads POST back to back until {@code seconds} pass; returns when the last answer came. */
    private long load(HttpClient client, String url, ExecutorService pool, int clients, double seconds, Tally t)
            throws Exception {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        List<Future<?>> running = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int first = c;
            running.add(pool.submit(() -> {
                for (int i = first; System.nanoTime() < deadline; i++) {
                    int k = i % images.size();
                    HttpRequest req = HttpRequest.newBuilder(URI.create(url + "/v1/classify?top=1"))
                            .timeout(Duration.ofSeconds(180)).header("Content-Type", "image/png")
                            .POST(HttpRequest.BodyPublishers.ofByteArray(images.get(k))).build();
                    long t0 = System.nanoTime();
                    if (t != null) {
                        t.sent.incrementAndGet();
                    }
                    try {
                        HttpResponse<String> r = client.send(req, HttpResponse.BodyHandlers.ofString());
                        if (t == null) {
                            continue;
                        }
                        t.latency(System.nanoTime() - t0);
                        check(r, k, t);
                    } catch (IOException e) {
                        if (t != null) {
                            t.errors.incrementAndGet();
                            t.problem("image " + k + ": " + e);
                        }
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : running) {
            f.get();
        }
        return System.nanoTime();
    }

    private void check(HttpResponse<String> r, int k, Tally t) throws IOException {
        if (r.statusCode() != 200) {
            t.errors.incrementAndGet();
            t.problem("image " + k + ": HTTP " + r.statusCode() + " " + r.body().strip());
            return;
        }
        JsonNode top = JSON.readTree(r.body()).get("top").get(0);
        Prediction want = expected.get(k);
        if (top.get("index").asInt() == want.index()
                && Math.abs(top.get("logit").floatValue() - want.logit()) <= 1e-4f * Math.max(1, Math.abs(want.logit()))) {
            t.ok.incrementAndGet();
        } else {
            t.wrong.incrementAndGet();
            t.problem("image " + k + ": got class " + top.get("index").asInt() + " logit "
                    + top.get("logit").floatValue() + ", classify gives " + want.index() + " logit " + want.logit());
        }
    }

    /** GET /v2/health/ready every 100 ms until {@code deadline}: {ok, checks, slowest nanoseconds}. */
    private static long[] health(HttpClient client, String url, long deadline) throws InterruptedException {
        long ok = 0, checks = 0, slowest = 0;
        HttpRequest req = HttpRequest.newBuilder(URI.create(url + "/v2/health/ready")).timeout(Duration.ofSeconds(10))
                .GET().build();
        while (System.nanoTime() < deadline) {
            long t0 = System.nanoTime();
            checks++;
            try {
                if (client.send(req, HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                    ok++;
                }
            } catch (IOException e) {
                // counted as a failed check
            }
            slowest = Math.max(slowest, System.nanoTime() - t0);
            Thread.sleep(100);
        }
        return new long[] {ok, checks, slowest};
    }

    /** The table, and the speed-up of each batched run over the max-batch-1 run. */
    static void print(PrintWriter out, List<Run> runs, String what) {
        out.println(what);
        out.println("max batch  images/s   p50 ms   p99 ms  mean batch  answered/sent  errors  wrong  health ok");
        for (Run r : runs) {
            out.printf(Locale.ROOT, "%9d  %8.2f  %7.0f  %7.0f  %10.2f  %6d/%-6d  %6d  %5d  %d/%d (slowest %.0f ms)%n",
                    r.maxBatch, r.imagesPerSecond, r.p50Millis, r.p99Millis, r.meanBatch, r.answered(), r.sent,
                    r.errors, r.wrong, r.healthOk, r.healthChecks, r.healthMaxMillis);
            if (r.firstProblem != null) {
                out.println("           first problem: " + r.firstProblem);
            }
        }
        Run one = runs.stream().filter(r -> r.maxBatch == 1).findFirst().orElse(null);
        if (one != null && one.imagesPerSecond > 0) {
            for (Run r : runs) {
                if (r.maxBatch > 1) {
                    out.printf(Locale.ROOT, "max batch %d: %.2fx the images/s of one request at a time%n",
                            r.maxBatch, r.imagesPerSecond / one.imagesPerSecond);
                }
            }
        }
        out.flush();
    }
}
