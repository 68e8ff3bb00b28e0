package dev.jresnet.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.sun.net.httpserver.HttpExchange;
import dev.jresnet.image.ImageDecodeException;
import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;
import dev.jresnet.resnet.BatchingPredictor;
import dev.jresnet.resnet.Prediction;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeoutException;

/**
 * The model's endpoints of {@code jresnet serve}: Open Inference Protocol v2 metadata and inference (a preprocessed
 * FP32 tensor in, logits out), and {@code /v1/classify} (image bytes in, the top K of {@code classify --json} out).
 * Every request runs through the one {@link BatchingPredictor}, so concurrent requests share batches.
 */
final class ServeEndpoints {
    static final String INPUT = "input";
    static final String OUTPUT = "logits";
    static final String VERSION = "1";

    private final ResNet model;
    private final BatchingPredictor predictor;
    private final String name;
    private final long maxBody;
    private final int defaultTop;
    /** Images decoded at once: a decoded photo can take hundreds of MB, so as many as there are cores. */
    private final Semaphore decoding = new Semaphore(Runtime.getRuntime().availableProcessors());

    ServeEndpoints(ResNet model, BatchingPredictor predictor, String name, long maxBody, int defaultTop) {
        this.model = model;
        this.predictor = predictor;
        this.name = name;
        this.maxBody = maxBody;
        this.defaultTop = defaultTop;
    }

    String name() {
        return name;
    }

    /** GET /v2/models/{name}: name, versions, platform, inputs and outputs with their datatypes and shapes (-1: any). */
    void metadata(HttpExchange ex) throws IOException {
        int s = model.inputSize(), classes = model.architecture().numClasses();
        HttpCalls.json(ex, 200, g -> {
            g.writeStartObject();
            g.writeStringField("name", name);
            g.writeArrayFieldStart("versions");
            g.writeString(VERSION);
            g.writeEndArray();
            g.writeStringField("platform", "jresnet");
            g.writeArrayFieldStart("inputs");
            tensorMetadata(g, INPUT, new int[] {-1, 3, s, s});
            g.writeEndArray();
            g.writeArrayFieldStart("outputs");
            tensorMetadata(g, OUTPUT, new int[] {-1, classes});
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private static void tensorMetadata(JsonGenerator g, String name, int[] shape) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", name);
        g.writeStringField("datatype", "FP32");
        g.writeArrayFieldStart("shape");
        for (int d : shape) {
            g.writeNumber(d);
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    /** POST /v2/models/{name}/infer: [N, 3, S, S] FP32 (preprocessed, channels first) to logits [N, classes]. */
    void infer(HttpExchange ex) throws IOException, HttpCalls.HttpError {
        String type = HttpCalls.mediaType(ex);
        if (type.startsWith("image/") || type.startsWith("multipart/") || type.equals("application/octet-stream")) {
            throw new HttpCalls.HttpError(415, "Content-Type " + type + ": infer takes a JSON tensor "
                    + "(application/json; the binary tensor extension is not supported); POST image bytes to "
                    + "/v1/classify");
        }
        InferRequest req = InferRequest.parse(HttpCalls.body(ex, maxBody));
        int s = model.inputSize(), classes = model.architecture().numClasses();
        String expected = "this model takes \"" + INPUT + "\" [N, 3, " + s + ", " + s + "] FP32 (preprocessed, "
                + "channels first; GET /v2/models/" + name + ")";
        if (!req.inputName().equals(INPUT)) {
            throw new HttpCalls.HttpError(400, "unknown input \"" + req.inputName() + "\": " + expected);
        }
        if (!req.datatype().equals("FP32")) {
            throw new HttpCalls.HttpError(400, "datatype " + req.datatype() + " is not supported: " + expected);
        }
        for (String out : req.outputs()) {
            if (!out.equals(OUTPUT)) {
                throw new HttpCalls.HttpError(400, "unknown output \"" + out + "\": this model's output is \""
                        + OUTPUT + "\" [N, " + classes + "]");
            }
        }
        int[] shape = req.shape();
        long count = 1;
        for (int d : shape) {
            count *= d;
        }
        if (count != req.data().length) {
            throw new HttpCalls.HttpError(400, "shape " + java.util.Arrays.toString(shape) + " holds " + count
                    + " values but \"data\" has " + req.data().length);
        }
        if (!(shape.length == 4 && shape[0] >= 1 && shape[1] == 3 && shape[2] == s && shape[3] == s)) {
            throw new HttpCalls.HttpError(422, "input shape " + java.util.Arrays.toString(shape) + " does not fit: "
                    + expected);
        }
        Tensor batch = new Tensor(Shape.of(shape), req.data());
        float[][] logits = await(() -> predictor.submitLogits(batch));
        HttpCalls.json(ex, 200, g -> {
            g.writeStartObject();
            g.writeStringField("model_name", name);
            g.writeStringField("model_version", VERSION);
            if (req.id() != null) {
                g.writeStringField("id", req.id());
            }
            g.writeArrayFieldStart("outputs");
            g.writeStartObject();
            g.writeStringField("name", OUTPUT);
            g.writeStringField("datatype", "FP32");
            g.writeArrayFieldStart("shape");
            g.writeNumber(logits.length);
            g.writeNumber(classes);
            g.writeEndArray();
            g.writeArrayFieldStart("data");
            for (float[] row : logits) {
                for (float v : row) {
                    g.writeNumber(v);
                }
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    /** POST /v1/classify[?top=K]: a PNG/JPEG/... body to {"model", "top": [{index, label, probability, logit}]}. */
    void classify(HttpExchange ex) throws IOException, HttpCalls.HttpError {
        String type = HttpCalls.mediaType(ex);
        if (type.equals("application/json") || type.startsWith("text/") || type.startsWith("multipart/")) {
            throw new HttpCalls.HttpError(415, "Content-Type " + type + ": /v1/classify takes the image file's bytes "
                    + "as the body (curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg'); a JSON tensor goes "
                    + "to /v2/models/" + name + "/infer");
        }
        int top = top(ex.getRequestURI().getRawQuery());
        byte[] body = HttpCalls.body(ex, maxBody);
        if (body.length == 0) {
            throw new HttpCalls.HttpError(400, "the body is empty: send the image file's bytes (curl --data-binary "
                    + "@photo.jpg)");
        }
        Tensor chw;
        decoding.acquireUninterruptibly();
        try {
            RgbImage image = ImageDecoder.decode(body, "the request body");
            chw = model.preprocess(image);                 // [3, S, S]; the decoded image is dropped here
        } catch (ImageDecodeException e) {
            throw new HttpCalls.HttpError(422, e.getMessage());
        } catch (OutOfMemoryError e) {
            // the server's heap, not the image, is at fault (a photo under the pixel bound the heap cannot hold)
            throw new HttpCalls.HttpError(503, "the server has not enough memory to decode the image ("
                    + e.getMessage() + "); try a smaller image, or raise the server's -Xmx (JRESNET_XMX)");
        } finally {
            decoding.release();
        }
        float[][] logits = await(() -> predictor.submitLogits(chw));
        int classes = logits[0].length;
        List<Prediction> preds = model.topK(new Tensor(Shape.of(1, classes), logits[0]), top).get(0);
        HttpCalls.json(ex, 200, g -> {
            g.writeStartObject();
            g.writeStringField("model", name);
            g.writeStringField("architecture", model.architecture().id());
            g.writeBooleanField("pretrained", model.isPretrained());
            ClassifyCommand.writeTop(g, preds);  // the fields and order of `jresnet classify --json`
            g.writeEndObject();
        });
    }

    private int top(String query) throws HttpCalls.HttpError {
        int classes = model.architecture().numClasses();
        if (query == null || query.isEmpty()) {
            return Math.min(defaultTop, classes);
        }
        for (String pair : query.split("&")) {
            if (pair.startsWith("top=")) {
                try {
                    int k = Integer.parseInt(pair.substring(4));
                    if (k >= 1 && k <= classes) {
                        return k;
                    }
                } catch (NumberFormatException e) {
                    // said below
                }
                throw new HttpCalls.HttpError(400, "top must be in 1.." + classes + ", got \"" + pair.substring(4)
                        + "\"");
            }
            throw new HttpCalls.HttpError(400, "unknown query parameter \"" + pair.split("=", 2)[0]
                    + "\" (/v1/classify takes top=K)");
        }
        return Math.min(defaultTop, classes);
    }

    /** A submission's result, its failure told as an HTTP status: 503 for a full queue, closing or timeout. */
    private static float[][] await(Submission s) throws HttpCalls.HttpError {
        Future<float[][]> f;
        try {
            f = s.submit();
        } catch (RejectedExecutionException e) {
            throw new HttpCalls.HttpError(503, e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new HttpCalls.HttpError(422, e.getMessage());
        }
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof TimeoutException || c instanceof RejectedExecutionException) {
                throw new HttpCalls.HttpError(503, c.getMessage());
            }
            if (c instanceof IllegalArgumentException) {
                throw new HttpCalls.HttpError(422, c.getMessage());
            }
            throw new HttpCalls.HttpError(500, "inference failed: " + Main.describe(c instanceof Exception x ? x
                    : new RuntimeException(c.toString())));
        } catch (InterruptedException | CancellationException e) {
            Thread.currentThread().interrupt();
            throw new HttpCalls.HttpError(503, "the server is stopping");
        }
    }

    private interface Submission {
        Future<float[][]> submit();
    }
}
