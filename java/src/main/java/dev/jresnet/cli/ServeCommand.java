package dev.jresnet.cli;

import dev.jresnet.resnet.BatchingPredictor;
import dev.jresnet.resnet.ResNet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code jresnet serve}: the model behind an HTTP server ({@link InferenceServer}) with dynamic batching
 * ({@link BatchingPredictor}), until SIGTERM or Ctrl-C, which stop it gracefully: readiness turns 503, requests in
 * progress finish (up to --drain-seconds), then the model is closed.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve the model over HTTP with dynamic batching: the Open Inference Protocol v2 (KServe, Triton "
                + "clients: GET /v2/health/ready, /v2/models/NAME; POST /v2/models/NAME/infer with a preprocessed "
                + "FP32 tensor [N,3,S,S]), POST /v1/classify with image bytes (the top K of classify --json), and "
                + "Prometheus metrics at /metrics. SIGTERM or Ctrl-C stops it gracefully."})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Mixin
    DeviceOptions device;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address to listen on (0.0.0.0: every interface). Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "8000",
            description = "Port (0: any free one, printed). Default: ${DEFAULT-VALUE} (Triton's HTTP port).")
    int port;

    @Option(names = "--model-name", paramLabel = "NAME",
            description = "The model's name in URLs. Default: its architecture (resnet50).")
    String modelName;

    @Option(names = "--max-batch", paramLabel = "N",
            description = "Most images per batch; 1 runs one request at a time. Default: 8 on the CPU, 32 on CUDA.")
    Integer maxBatch;

    @Option(names = "--max-wait-ms", paramLabel = "MS",
            description = "How long the oldest queued request waits for others to fill a batch. Default: 5 on the "
                    + "CPU, 2 on CUDA.")
    Double maxWaitMs;

    @Option(names = "--queue", paramLabel = "N",
            description = "Images the batching queue holds. Default: 8 x --max-batch.")
    Integer queue;

    @Option(names = "--overflow", paramLabel = "P", defaultValue = "block",
            description = "A full queue: block (the request waits, up to --timeout-ms) or reject (503 at once). "
                    + "Default: ${DEFAULT-VALUE}.")
    String overflow;

    @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "30000",
            description = "A request not answered within this gets 503. Default: ${DEFAULT-VALUE}.")
    long timeoutMs;

    @Option(names = "--threads", paramLabel = "N",
            description = "HTTP handler threads (as many more requests may wait; beyond that 503). Default: 2 x "
                    + "--max-batch, at least 4.")
    Integer threads;

    @Option(names = "--max-body-mb", paramLabel = "MB", defaultValue = "16",
            description = "Largest request body (413 above). Default: ${DEFAULT-VALUE}.")
    double maxBodyMb;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5",
            description = "Classes /v1/classify returns unless ?top=K. Default: ${DEFAULT-VALUE}.")
    int top;

    @Option(names = "--drain-seconds", paramLabel = "S", defaultValue = "30",
            description = "On SIGTERM, how long requests in progress may finish. Default: ${DEFAULT-VALUE}.")
    double drainSeconds;

    @Override
    public Integer call() throws Exception {
        checkOptions();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ResNet net = model.build(err, device);
        BatchingPredictor predictor;
        InferenceServer server;
        try {
            BatchingPredictor.Builder b = net.batching()
                    .overflow(BatchingPredictor.Overflow.valueOf(overflow.toUpperCase(Locale.ROOT)))
                    .timeout(Duration.ofMillis(timeoutMs));
            if (maxBatch != null) {
                b.maxBatch(maxBatch);
            }
            if (maxWaitMs != null) {
                b.maxWait(Duration.ofNanos((long) (maxWaitMs * 1e6)));
            }
            if (queue != null) {
                b.queueCapacity(queue);
            }
            predictor = b.build();
            String name = modelName != null ? modelName : net.architecture().id();
            int handlers = threads != null ? threads : Math.max(4, 2 * predictor.maxBatch());
            server = InferenceServer.start(predictor, new InferenceServer.Options(host, port, name, handlers,
                    (long) (maxBodyMb * (1 << 20)), Math.min(top, net.architecture().numClasses())));
        } catch (Exception | Error e) {
            net.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            err.println("jresnet: stopping: no new requests; finishing the " + server.inFlight()
                    + " in progress (at most " + fmt(drainSeconds) + " s)");
            err.flush();
            int left = server.stop(Duration.ofMillis((long) (drainSeconds * 1000)));
            net.close();
            err.println("jresnet: stopped" + (left == 0 ? "; every request in progress was answered"
                    : "; " + left + " requests were still in progress after " + fmt(drainSeconds) + " s"));
            err.flush();
            stopped.countDown();
        }, "jresnet-serve-shutdown"));
        out.println("serving " + server.url() + "/v2/models/" + server.modelName() + " (max batch "
                + predictor.maxBatch() + ", max wait " + fmt(predictor.maxWait().toNanos() / 1e6) + " ms, queue "
                + predictor.queueCapacity() + "); SIGTERM or Ctrl-C stops it");
        out.println("listening on " + server.url());
        out.flush();
        stopped.await();
        return 0;
    }

    private void checkOptions() {
        if (!overflow.equalsIgnoreCase("block") && !overflow.equalsIgnoreCase("reject")) {
            throw new IllegalArgumentException("--overflow must be block or reject, got \"" + overflow + "\"");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be in 0..65535, got " + port);
        }
        if (timeoutMs < 1) {
            throw new IllegalArgumentException("--timeout-ms must be at least 1, got " + timeoutMs);
        }
        if (!(maxBodyMb > 0) || maxBodyMb > 2047) {
            throw new IllegalArgumentException("--max-body-mb must be in (0, 2047], got " + fmt(maxBodyMb));
        }
        if (maxWaitMs != null && !(maxWaitMs >= 0 && maxWaitMs <= 60_000)) {
            throw new IllegalArgumentException("--max-wait-ms must be in 0..60000, got " + fmt(maxWaitMs));
        }
        if (maxBatch != null && (maxBatch < 1 || maxBatch > ClassifyCommand.MAX_BATCH)) {
            throw new IllegalArgumentException("--max-batch must be in 1.." + ClassifyCommand.MAX_BATCH + ", got "
                    + maxBatch);
        }
        if (queue != null && queue < 1) {
            throw new IllegalArgumentException("--queue must be at least 1, got " + queue);
        }
        if (threads != null && (threads < 1 || threads > 4096)) {
            throw new IllegalArgumentException("--threads must be in 1..4096, got " + threads);
        }
        if (top < 1) {
            throw new IllegalArgumentException("--top must be at least 1, got " + top);
        }
        if (!(drainSeconds >= 0) || Double.isInfinite(drainSeconds)) {
            throw new IllegalArgumentException("--drain-seconds must be zero or positive, got " + fmt(drainSeconds));
        }
    }

    private static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.3g", v);
    }
}
