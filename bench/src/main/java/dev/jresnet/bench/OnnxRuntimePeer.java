package dev.jresnet.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.jresnet.onnx.OnnxExporter;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Tensor;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * ONNX Runtime's CPU execution provider on our own model, exported with {@link OnnxExporter}: the same weights
 * and the same graph, run by a mature C++ engine in this process (through its Java binding).
 */
final class OnnxRuntimePeer implements Engine {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final int threads;
    private final String version;
    private OnnxTensor input;
    private float[] logits;

    private OnnxRuntimePeer(OrtEnvironment env, OrtSession session, int threads, String version) {
        this.env = env;
        this.session = session;
        this.threads = threads;
        this.version = version;
    }

    static OnnxRuntimePeer open(ResNet model, int threads) throws PeerUnavailableException {
        return open(model, threads, null);
    }

    /**
     * As {@link #open(ResNet, int)}, with ONNX Runtime's profiler on when {@code profilePrefix} is not null: it then
     * writes every run's node times to a JSON file that {@link #endProfiling} names.
     */
    static OnnxRuntimePeer open(ResNet model, int threads, Path profilePrefix) throws PeerUnavailableException {
        Path onnx = null;
        try {
            onnx = Files.createTempFile("jresnet-bench-", ".onnx");
            OnnxExporter.write(model.network(), model.exportWeights(null).metadata(), onnx);
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
                opts.setIntraOpNumThreads(threads);
                opts.setInterOpNumThreads(1);
                opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                // ORT's workers spin between its operators (as jresnet's helpers do, Parallel) and, by default,
                // for a while after each run too: interleaved with jresnet, that would steal jresnet's cores
                // (measured: jresnet's batch-1 pass 34 -> 52 ms). They stop spinning when the run returns instead.
                // Without spinning at all ORT ran 3-7 % slower at batch 1 (29.1 against 27.2 ms, one run each).
                opts.addConfigEntry("session.intra_op.allow_spinning", "1");
                opts.addConfigEntry("session.force_spinning_stop", "1");
                if (profilePrefix != null) {
                    opts.enableProfiling(profilePrefix.toString());
                }
                OrtSession session = env.createSession(onnx.toString(), opts);
                return new OnnxRuntimePeer(env, session, threads, env.getVersion());
            }
        } catch (OrtException | java.io.IOException | UnsatisfiedLinkError e) {
            throw new PeerUnavailableException("ONNX Runtime cannot run the exported model: " + e.getMessage(), e);
        } finally {
            if (onnx != null) {
                // The session holds its own copy of the graph; the file is no longer needed.
                try {
                    Files.deleteIfExists(onnx);
                } catch (java.io.IOException ignored) {
                    // a leftover temporary file is harmless
                }
            }
        }
    }

    @Override
    public String name() {
        return "onnxruntime";
    }

    @Override
    public String detail() {
        return "ONNX Runtime " + version + " (Java), CPU provider, " + threads
                + " intra-op threads, all graph optimisations, spinning within a run only";
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public void load(Tensor in) throws OrtException {
        closeInput();
        // A heap buffer is copied into ORT's memory once, here, not on every run.
        input = OnnxTensor.createTensor(env, FloatBuffer.wrap(in.data()),
                Arrays.stream(in.shape().dims()).asLongStream().toArray());
    }

    @Override
    public double run(boolean keepLogits) throws OrtException {
        long t0 = System.nanoTime();
        try (OrtSession.Result r = session.run(Map.of("input", input))) {
            long t1 = System.nanoTime();
            if (keepLogits) {
                FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                logits = new float[fb.remaining()];
                fb.get(logits);
            }
            return (t1 - t0) / 1e9;
        }
    }

    /** Stops the profiler; the JSON file of its events (see {@link #open(ResNet, int, Path)}). */
    Path endProfiling() throws OrtException {
        return Path.of(session.endProfiling());
    }

    @Override
    public float[] logits() {
        return logits;
    }

    private void closeInput() {
        if (input != null) {
            input.close();
            input = null;
        }
    }

    @Override
    public void close() {
        closeInput();
        try {
            session.close();
        } catch (OrtException ignored) {
            // closing at the end of a run; nothing left to save
        }
    }
}
