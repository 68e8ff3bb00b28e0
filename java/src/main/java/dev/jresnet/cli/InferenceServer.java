package dev.jresnet.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.jresnet.resnet.BatchingPredictor;
import dev.jresnet.resnet.ResNet;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The HTTP server of {@code jresnet serve}, on the JDK's own {@code com.sun.net.httpserver} (module jdk.httpserver):
 * the Open Inference Protocol v2 REST endpoints that Triton and KServe clients speak, {@code /v1/classify} for image
 * bytes, and Prometheus metrics. Requests run on a bounded pool ({@code threads} handlers, as many waiting); one
 * arriving when both are full is answered 503 at once on the accepting thread instead of queuing without end, and
 * health checks are still answered then. Every failure of a request is its own 4xx/5xx answer; the server stays up.
 *
 * <pre>
 * GET  /v2/health/live, /v2/health/ready        200 {"live": true}, {"ready": true} (503 while stopping)
 * GET  /v2                                      server metadata
 * GET  /v2/models/NAME[/versions/1]             model metadata; .../ready: 200 when it can infer
 * POST /v2/models/NAME[/versions/1]/infer       {"inputs": [{"name": "input", "shape": [N,3,S,S], "datatype": "FP32", "data": [...]}]}
 * POST /v1/classify[?top=K]                     image bytes: {"model", "architecture", "pretrained", "top": [...]}
 * GET  /metrics                                 Prometheus text format
 * </pre>
 */
public final class InferenceServer implements AutoCloseable {
    /** Settings: where to listen, the model's name in URLs, handler threads, body limit, default top-k. */
    public record Options(String host, int port, String modelName, int threads, long maxBodyBytes, int topK) {
        public Options {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(modelName, "modelName");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in 0..65535, got " + port);
            }
            if (!modelName.matches("[A-Za-z0-9_.-]+")) {
                throw new IllegalArgumentException("model name \"" + modelName + "\" must be letters, digits, '_', '.'"
                        + " or '-' (it is part of URLs)");
            }
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be >= 1, got " + threads);
            }
            if (maxBodyBytes < 1) {
                throw new IllegalArgumentException("maxBodyBytes must be >= 1, got " + maxBodyBytes);
            }
        }

        /** Loopback, an ephemeral port, 16 threads, 16 MiB bodies, top 5. */
        public static Options defaults(String modelName) {
            return new Options("127.0.0.1", 0, modelName, 16, 16L << 20, 5);
        }
    }

    private static final Pattern MODEL = Pattern.compile("/v2/models/([^/]+)(?:/versions/([^/]+))?(/ready|/infer)?");
    /** Set on the accepting thread while it answers a request the full pool refused. */
    private static final ThreadLocal<Boolean> OVERLOADED = ThreadLocal.withInitial(() -> false);

    private final HttpServer http;
    private final ThreadPoolExecutor pool;
    private final ServeEndpoints endpoints;
    private final BatchingPredictor predictor;
    private final ServeMetrics metrics = new ServeMetrics();
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean stopping;
    private boolean stopped;

    private InferenceServer(HttpServer http, ThreadPoolExecutor pool, ServeEndpoints endpoints,
                            BatchingPredictor predictor) {
        this.http = http;
        this.pool = pool;
        this.endpoints = endpoints;
        this.predictor = predictor;
    }

    /**
     * Starts serving {@code predictor}'s model. The server owns neither: {@link #stop} drains and closes the
     * predictor, the caller closes the model after it.
     */
    public static InferenceServer start(BatchingPredictor predictor, Options o) throws IOException {
        ResNet model = predictor.model();
        HttpServer http = HttpServer.create(new InetSocketAddress(o.host(), o.port()), 256);
        ThreadPoolExecutor pool = new ThreadPoolExecutor(o.threads(), o.threads(), 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(o.threads()), r -> {
                    Thread t = new Thread(r, "jresnet-http");
                    t.setDaemon(true);
                    return t;
                }, (r, executor) -> {
                    // Both full: answer here, at once (503, or a health check), rather than let the JDK drop the
                    // connection without a word.
                    OVERLOADED.set(true);
                    try {
                        r.run();
                    } finally {
                        OVERLOADED.set(false);
                    }
                });
        InferenceServer server = new InferenceServer(http, pool,
                new ServeEndpoints(model, predictor, o.modelName(), o.maxBodyBytes(), o.topK()), predictor);
        http.createContext("/", server::handle);
        http.setExecutor(pool);
        http.start();
        return server;
    }

    /** The port bound (the one asked, or the ephemeral one chosen for port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    /** The address to print: http://HOST:PORT. */
    public String url() {
        return "http://" + http.getAddress().getHostString() + ":" + port();
    }

    private void handle(HttpExchange ex) {
        inFlight.incrementAndGet();
        int status = 500;
        try {
            status = route(ex);
        } catch (HttpCalls.HttpError e) {
            if (e instanceof MethodNotAllowed m) {
                ex.getResponseHeaders().set("Allow", m.allowed);
            }
            status = answerError(ex, e.status, e.getMessage());
        } catch (Throwable e) {   // the server stays up whatever one request did
            status = answerError(ex, 500, "internal error: " + (e instanceof Exception x ? Main.describe(x)
                    : e.toString()));
        } finally {
            ex.close();
            metrics.answered(status);
            inFlight.decrementAndGet();
        }
    }

    private static int answerError(HttpExchange ex, int status, String message) {
        try {
            HttpCalls.drain(ex);
            HttpCalls.error(ex, status, message);
        } catch (IOException | RuntimeException e) {
            // the client went away, or the headers were already sent: nothing more to tell it
        }
        return status;
    }

    /** Dispatches on method and path; returns the status answered. */
    private int route(HttpExchange ex) throws IOException, HttpCalls.HttpError {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        switch (path) {
            case "/v2/health/live" -> {
                requireMethod(method, "GET");
                return ok(ex, "live", true);
            }
            case "/v2/health/ready" -> {
                requireMethod(method, "GET");
                if (stopping) {
                    throw new HttpCalls.HttpError(503, "the server is stopping");
                }
                return ok(ex, "ready", true);
            }
            case "/metrics" -> {
                requireMethod(method, "GET");
                HttpCalls.text(ex, 200, "text/plain; version=0.0.4; charset=utf-8",
                        metrics.prometheus(predictor.metrics(), inFlight.get(), predictor.maxBatch()));
                return 200;
            }
            default -> { }
        }
        if (stopping) {
            throw new HttpCalls.HttpError(503, "the server is stopping");
        }
        if (OVERLOADED.get()) {
            metrics.overloaded();
            throw new HttpCalls.HttpError(503, "the server is overloaded (" + pool.getMaximumPoolSize()
                    + " requests running and as many waiting): retry later, or start it with more --threads");
        }
        if (path.equals("/v2") || path.equals("/v2/")) {
            requireMethod(method, "GET");
            HttpCalls.json(ex, 200, g -> {
                g.writeStartObject();
                g.writeStringField("name", "jresnet");
                String v = Main.class.getPackage().getImplementationVersion();
                g.writeStringField("version", v != null ? v : "development");
                g.writeArrayFieldStart("extensions");
                g.writeEndArray();
                g.writeEndObject();
            });
            return 200;
        }
        if (path.equals("/v1/classify")) {
            requireMethod(method, "POST");
            endpoints.classify(ex);
            return 200;
        }
        Matcher m = MODEL.matcher(path);
        if (m.matches()) {
            if (!m.group(1).equals(endpoints.name())) {
                throw new HttpCalls.HttpError(404, "no model \"" + m.group(1) + "\": this server serves \""
                        + endpoints.name() + "\"");
            }
            if (m.group(2) != null && !m.group(2).equals(ServeEndpoints.VERSION)) {
                throw new HttpCalls.HttpError(404, "no version \"" + m.group(2) + "\" of " + endpoints.name()
                        + ": it has version " + ServeEndpoints.VERSION);
            }
            String tail = m.group(3);
            if (tail == null) {
                requireMethod(method, "GET");
                endpoints.metadata(ex);
                return 200;
            }
            if (tail.equals("/ready")) {
                requireMethod(method, "GET");
                return ok(ex, "ready", true);
            }
            requireMethod(method, "POST");
            endpoints.infer(ex);
            return 200;
        }
        throw new HttpCalls.HttpError(404, "no endpoint " + path + " (GET /v2/health/ready, /v2/models/"
                + endpoints.name() + ", /metrics; POST /v2/models/" + endpoints.name() + "/infer, /v1/classify)");
    }

    private static void requireMethod(String method, String allowed) throws HttpCalls.HttpError {
        if (!method.equals(allowed)) {
            throw new MethodNotAllowed(method, allowed);
        }
    }

    /** 405 with the Allow header the protocol asks for. */
    private static final class MethodNotAllowed extends HttpCalls.HttpError {
        private static final long serialVersionUID = 1L;
        final String allowed;

        MethodNotAllowed(String method, String allowed) {
            super(405, method + " is not allowed here: use " + allowed);
            this.allowed = allowed;
        }
    }

    private static int ok(HttpExchange ex, String field, boolean value) throws IOException {
        HttpCalls.json(ex, 200, g -> {
            g.writeStartObject();
            g.writeBooleanField(field, value);
            g.writeEndObject();
        });
        return 200;
    }

    /**
     * Stops gracefully: readiness turns 503 and new inference requests are refused (503), requests in progress
     * finish for at most {@code drain}, then the listener closes and the predictor is closed (failing what it still
     * holds). Returns the requests that were still in progress when the drain ended (0 when all finished).
     * Idempotent.
     */
    public synchronized int stop(Duration drain) {
        if (stopped) {
            return 0;
        }
        stopped = true;
        stopping = true;
        long end = System.nanoTime() + drain.toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < end) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int left = inFlight.get();
        // stop(0): JDK 17's HttpServer.stop waits its whole delay even when idle, so the drain is done above.
        http.stop(0);
        predictor.close(Duration.ZERO);
        pool.shutdown();
        return left;
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(30));
    }

    /** The model's name in URLs. */
    public String modelName() {
        return endpoints.name();
    }

    /** The exchanges in progress now (for tests and the shutdown message). */
    int inFlight() {
        return inFlight.get();
    }
}
