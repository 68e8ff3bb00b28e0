package dev.jresnet.bench;

import dev.jresnet.cuda.ConvAlgorithms;
import dev.jresnet.cuda.CudaException;
import dev.jresnet.tensor.Precision;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * cuDNN's forward algorithms ({@code CUDNN_CONVOLUTION_FWD_ALGO_*}, 0..7) in one of the engine's precisions, on a
 * {@link ConvForwardLab} that the caller owns: NCHW fp32 with FMA math (exact: tolerance 1e-5), TF32 (tensor-op
 * math on fp32 tensors: 1e-2) or NHWC fp16 with tensor-op math and fp32 accumulation (1e-2). The engine's pick is
 * {@link ConvAlgorithms}' heuristic choice for the same shape, precision and batch.
 *
 * <p>The algorithms of one shape share one upload of the input and weights (the lab passes the same arrays to
 * each); {@link #close()} frees the last one.
 */
final class CudaConvBackend implements ConvBackend, AutoCloseable {
    private final ConvForwardLab lab;
    private final Precision precision;
    private final List<ConvAlgorithm> algorithms = new ArrayList<>();
    private ConvForwardLab.Problem problem;
    private float[] problemInput;
    private float[] problemWeight;
    private int problemBatch;

    CudaConvBackend(ConvForwardLab lab, Precision precision) {
        this.lab = lab;
        this.precision = precision;
        for (int a = 0; a < ConvForwardLab.ALGORITHMS; a++) {
            algorithms.add(new Algorithm(a));
        }
    }

    /** Validation tolerance (max relative error) of a precision. */
    static double tolerance(Precision p) {
        return p == Precision.FP32 ? 1e-5 : 1e-2;
    }

    @Override
    public String section() {
        return "cuda:" + lab.device().ordinal() + " " + precision();
    }

    @Override
    public String precision() {
        return precision.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public List<ConvAlgorithm> algorithms() {
        return algorithms;
    }

    @Override
    public double tolerance() {
        return tolerance(precision);
    }

    @Override
    public boolean timesAlone() {
        return true;
    }

    @Override
    public String inUse(ConvShape s, int batch) {
        ConvAlgorithms.Choice c = lab.engineChoice(precision, shape(s, batch));
        return ConvForwardLab.algorithmName(c.algo());
    }

    static ConvForwardLab.Shape shape(ConvShape s, int batch) {
        return new ConvForwardLab.Shape(batch, s.c(), s.h(), s.w(), s.k(), s.r(), s.stride(), s.pad(), s.groups());
    }

    /** The shape's uploaded problem, made on the first algorithm and reused by the others. */
    private ConvForwardLab.Problem problem(ConvShape s, int batch, float[] input, float[] weight) {
        if (problem != null && problemInput == input && problemWeight == weight && problemBatch == batch
                && problem.shape().equals(shape(s, batch))) {
            return problem;
        }
        closeProblem();
        problem = lab.prepare(precision, shape(s, batch), input, weight);
        problemInput = input;
        problemWeight = weight;
        problemBatch = batch;
        return problem;
    }

    private void closeProblem() {
        if (problem != null) {
            ConvForwardLab.Problem p = problem;
            problem = null;
            problemInput = null;
            problemWeight = null;
            p.close();
        }
    }

    @Override
    public void close() {
        closeProblem();
    }

    private final class Algorithm implements ConvAlgorithm {
        private final int algo;

        Algorithm(int algo) {
            this.algo = algo;
        }

        @Override
        public String name() {
            return ConvForwardLab.algorithmName(algo);
        }

        @Override
        public Prepared prepare(ConvShape s, int batch, float[] input, float[] weight) throws Unsupported {
            ConvForwardLab.Problem p = problem(s, batch, input, weight);
            ConvForwardLab.WorkspaceQuery q = p.workspace(algo);
            if (!q.supported()) {
                throw new Unsupported("workspace query: " + q.status());
            }
            long ws = q.bytes();
            return new Prepared() {
                private float[] out;

                @Override
                public double run() throws Unsupported {
                    long t0 = System.nanoTime();
                    try {
                        out = p.run(algo, ws);
                    } catch (CudaException e) {
                        if (ConvForwardLab.isUnsupported(e)) {
                            throw new Unsupported("forward: " + e.errorString());
                        }
                        throw e;
                    }
                    return (System.nanoTime() - t0) / 1e9;
                }

                @Override
                public float[] output() {
                    return out;
                }

                @Override
                public long workspaceBytes() {
                    return ws;
                }

                @Override
                public double[] time(int warmup, int runs) {
                    return p.time(algo, ws, warmup, runs);
                }
            };
        }
    }
}
