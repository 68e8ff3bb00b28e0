package dev.jresnet.cli;

import dev.jresnet.resnet.BatchingPredictor;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** The server's counters (answers per status) and the Prometheus text exposition of them with the predictor's. */
final class ServeMetrics {
    private final Map<Integer, Long> answers = new TreeMap<>();
    private long overloaded;

    synchronized void answered(int status) {
        answers.merge(status, 1L, Long::sum);
    }

    synchronized void overloaded() {
        overloaded++;
    }

    /** Prometheus text format 0.0.4. */
    synchronized String prometheus(BatchingPredictor.Metrics m, int inFlight, int maxBatch) {
        StringBuilder b = new StringBuilder();
        gauge(b, "jresnet_queue_depth", "Images waiting in the batching queue.", m.queueDepth());
        gauge(b, "jresnet_http_in_flight", "HTTP requests in progress.", inFlight);
        b.append("# HELP jresnet_http_responses_total HTTP responses by status code.\n");
        b.append("# TYPE jresnet_http_responses_total counter\n");
        answers.forEach((code, n) -> b.append("jresnet_http_responses_total{code=\"").append(code).append("\"} ")
                .append(n).append('\n'));
        counter(b, "jresnet_http_overloaded_total", "Requests refused because every handler thread was busy.",
                overloaded);
        b.append("# HELP jresnet_requests_total Inference requests by outcome.\n");
        b.append("# TYPE jresnet_requests_total counter\n");
        String[] outcomes = {"completed", "failed", "timed_out", "cancelled", "rejected"};
        long[] counts = {m.completed(), m.failed(), m.timedOut(), m.cancelled(), m.rejected()};
        for (int i = 0; i < outcomes.length; i++) {
            b.append("jresnet_requests_total{outcome=\"").append(outcomes[i]).append("\"} ").append(counts[i])
                    .append('\n');
        }
        counter(b, "jresnet_images_total", "Images run through the model.", m.images());
        b.append("# HELP jresnet_batch_size Images per batch run.\n");
        b.append("# TYPE jresnet_batch_size histogram\n");
        long[] sizes = m.batchSizes();
        long cumulative = 0;
        for (int size = 1; size < sizes.length; size++) {
            cumulative += sizes[size];
            if (size == sizes.length - 1 || Integer.bitCount(size) == 1) {   // buckets 1, 2, 4, 8, ..., maxBatch
                b.append("jresnet_batch_size_bucket{le=\"").append(size).append("\"} ").append(cumulative).append('\n');
            }
        }
        b.append("jresnet_batch_size_bucket{le=\"+Inf\"} ").append(m.batches()).append('\n');
        b.append("jresnet_batch_size_sum ").append(m.images()).append('\n');
        b.append("jresnet_batch_size_count ").append(m.batches()).append('\n');
        b.append("# HELP jresnet_request_latency_seconds Submit to result, over the last ").append(m.latencyWindow())
                .append(" completed requests.\n");
        b.append("# TYPE jresnet_request_latency_seconds gauge\n");
        double[] q = {0.5, 0.9, 0.99};
        double[] v = {m.p50Millis(), m.p90Millis(), m.p99Millis()};
        for (int i = 0; i < q.length; i++) {
            b.append(String.format(Locale.ROOT, "jresnet_request_latency_seconds{quantile=\"%s\"} %.6f%n", q[i],
                    v[i] / 1000));
        }
        gauge(b, "jresnet_max_batch", "The largest batch the predictor forms.", maxBatch);
        return b.toString();
    }

    private static void gauge(StringBuilder b, String name, String help, long value) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" gauge\n");
        b.append(name).append(' ').append(value).append('\n');
    }

    private static void counter(StringBuilder b, String name, String help, long value) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" counter\n");
        b.append(name).append(' ').append(value).append('\n');
    }
}
