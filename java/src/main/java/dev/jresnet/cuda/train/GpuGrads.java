package dev.jresnet.cuda.train;

import dev.jresnet.cpu.CpuGrads;
import dev.jresnet.cuda.ConvAlgorithms;
import dev.jresnet.cuda.Cublas;
import dev.jresnet.cuda.Cudnn;
import dev.jresnet.cuda.DeviceBuffer;
import dev.jresnet.cuda.DeviceMemory;
import dev.jresnet.cuda.GpuOps;
import dev.jresnet.cuda.GpuTensor;
import dev.jresnet.cuda.Stream;
import dev.jresnet.cuda.TrainKernels;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.tensor.Precision;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.bytedeco.cuda.global.cublas.*;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudnn.*;

/**
 * The GPU twins of {@link CpuGrads}: the backward passes, batch norm's training-mode forward and the loss, under the
 * same names, outputs first, in the same order in the file, on fp32 NCHW {@link GpuTensor}s, queued on the stream of
 * the {@link GpuOps} they are made with (sharing its handles, workspace and convolution plans). As in CpuGrads,
 * input gradients are written and parameter gradients are accumulated into.
 *
 * <p>cuDNN runs the convolution gradients (algorithms chosen once per shape by {@link ConvAlgorithms}, preferring
 * deterministic ones), training-mode batch norm ({@code cudnnBatchNormalization*}, SPATIAL) and max pooling's
 * backward (deterministic); cuBLAS the classifier's; {@code native/train.cu} the rest (ReLU, average pool, frozen
 * statistics batch norm, the loss), with CpuGrads's float formulas.
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class GpuGrads implements AutoCloseable {
    private final GpuOps ops;
    private final Stream stream;
    private final TrainKernels kernels;
    private DeviceMemory lossScratch;     // row losses [n] double, the mean loss (8 bytes), targets [n] int32
    private DeviceMemory bnScratch;       // dIn of training batch norm when it aliases dOut

    public GpuGrads(GpuOps ops) {
        if (ops.precision().precision() == Precision.FP16) {
            throw new IllegalArgumentException("GPU training runs in fp32 or tf32 (NCHW), not fp16");
        }
        this.ops = ops;
        this.stream = ops.stream();
        this.kernels = ops.trainKernels();
    }

    public GpuOps ops() {
        return ops;
    }

    public Stream stream() {
        return stream;
    }

    public TrainKernels kernels() {
        return kernels;
    }

    // ---------------------------------------------------------------- linear

    /**
     * Backward of {@code out[N,O] = in[N,I] · weight[O,I]ᵀ + bias[O]}: dIn = dOut · weight (written; may be null),
     * dWeight += dOutᵀ · in, dBias += Σ_n dOut (rows in order, in double; either may be null).
     */
    public void linearBackward(GpuTensor dIn, GpuTensor dWeight, GpuTensor dBias, GpuTensor dOut, GpuTensor in,
                               GpuTensor weight) {
        int n = in.dim(0), i = in.dim(1), o = weight.dim(0);
        weight.require("linearBackward weight", o, i);
        dOut.require("linearBackward dOut", n, o);
        String shape = "in [" + n + ", " + i + "], weight [" + o + ", " + i + "]";
        int compute = ops.precision().cublasCompute();
        if (dIn != null) {
            dIn.require("linearBackward dIn", n, i);
            // dInᵀ (i x n) = weight_cm (i x o) · dOutᵀ (o x n)
            Cublas.check(cublasGemmEx(ops.cublas().handle(), CUBLAS_OP_N, CUBLAS_OP_N, i, n, o, ops.one(),
                    weight.buffer().pointer(), CUDA_R_32F, i, dOut.buffer().pointer(), CUDA_R_32F, o, ops.zero(),
                    dIn.buffer().pointer(), CUDA_R_32F, i, compute, CUBLAS_GEMM_DEFAULT), "cublasGemmEx",
                    "linear dIn", shape);
        }
        if (dWeight != null) {
            dWeight.require("linearBackward dWeight", o, i);
            // dWeight_cm (i x o) += in_cm (i x n) · (dOut_cm (o x n))ᵀ
            Cublas.check(cublasGemmEx(ops.cublas().handle(), CUBLAS_OP_N, CUBLAS_OP_T, i, o, n, ops.one(),
                    in.buffer().pointer(), CUDA_R_32F, i, dOut.buffer().pointer(), CUDA_R_32F, o, ops.one(),
                    dWeight.buffer().pointer(), CUDA_R_32F, i, compute, CUBLAS_GEMM_DEFAULT), "cublasGemmEx",
                    "linear dWeight", shape);
        }
        if (dBias != null) {
            dBias.require("linearBackward dBias", o);
            kernels.biasGrad(stream, dOut.buffer(), dBias.buffer(), n, o);
        }
    }

    // ---------------------------------------------------------------- loss

    /**
     * Mean softmax cross-entropy of logits[N,K] against class indices {@code targets} with label smoothing, as
     * {@link CpuGrads#softmaxCrossEntropy}: writes dLogits = (softmax - q) / N and returns the loss (waits for the
     * stream to read it).
     */
    public float softmaxCrossEntropy(GpuTensor dLogits, GpuTensor logits, int[] targets, float labelSmoothing) {
        int n = logits.dim(0), k = logits.dim(1);
        dLogits.requireSameShape("softmaxCrossEntropy dLogits", logits);
        if (targets.length != n) {
            throw new IllegalArgumentException("softmaxCrossEntropy targets: expected " + n + " class indices, found "
                    + targets.length);
        }
        for (int row = 0; row < n; row++) {
            if (targets[row] < 0 || targets[row] >= k) {
                throw new IllegalArgumentException("softmaxCrossEntropy targets[" + row + "] = " + targets[row]
                        + " is not a class index in [0, " + k + ")");
            }
        }
        long bytes = 8L * n + 8 + 4L * n;
        if (lossScratch == null || lossScratch.bytes() < bytes) {
            if (lossScratch != null) {
                stream.synchronize();
                lossScratch.close();
            }
            lossScratch = DeviceMemory.allocate(bytes, "loss scratch");
        }
        // The doubles first, so that every part is aligned to its element whatever n is.
        DeviceBuffer rows = lossScratch.buffer().slice(0, 8L * n);
        DeviceBuffer loss = lossScratch.buffer().slice(8L * n, 8);
        DeviceBuffer t = lossScratch.buffer().slice(8L * n + 8, 4L * n);
        ByteBuffer bb = ByteBuffer.allocate(4 * n).order(ByteOrder.nativeOrder());
        for (int y : targets) {
            bb.putInt(y);
        }
        t.upload(stream, bb.array());
        kernels.softmaxCrossEntropy(stream, logits.buffer(), t, dLogits.buffer(), rows, loss, n, k, labelSmoothing);
        float[] out = new float[1];
        loss.slice(0, 4).download(stream, out);
        return out[0];
    }

    // ---------------------------------------------------------------- pooling, ReLU, add

    /** Backward of global average pooling: dIn[N,C,H,W] = dOut[N,C] / (H·W) (written). */
    public void globalAvgPoolBackward(GpuTensor dIn, GpuTensor dOut) {
        int n = dIn.dim(0), c = dIn.dim(1), hw = dIn.dim(2) * dIn.dim(3);
        dOut.require("globalAvgPoolBackward dOut", n, c);
        kernels.globalAvgPoolBackward(stream, dOut.buffer(), dIn.buffer(), n, c, hw);
    }

    /** Backward of ReLU from its output: dIn = out > 0 ? dOut : 0 (written; dIn may be dOut). */
    public void reluBackward(GpuTensor dIn, GpuTensor dOut, GpuTensor out) {
        dOut.requireSameShape("reluBackward dOut", out);
        dIn.requireSameShape("reluBackward dIn", out);
        kernels.reluBackward(stream, dOut.buffer(), out.buffer(), dIn.buffer(), out.elements());
    }

    /** into += grad: where a value fans out, its gradient is the sum of its readers'. */
    public void accumulate(GpuTensor into, GpuTensor grad) {
        grad.requireSameShape("accumulate grad", into);
        kernels.addInPlace(stream, into.buffer(), grad.buffer(), into.elements());
    }

    /**
     * Backward of max pooling (cuDNN's deterministic max): each output gradient goes to its window's winner, found
     * by comparing {@code in} with the forward's {@code out} (dIn written).
     */
    public void maxPoolBackward(GpuTensor dIn, GpuTensor dOut, GpuTensor in, GpuTensor out, int kernel, int stride,
                                int padding) {
        dIn.requireSameShape("maxPoolBackward dIn", in);
        dOut.requireSameShape("maxPoolBackward dOut", out);
        Cudnn.check(cudnnPoolingBackward(ops.cudnn().handle(),
                ops.pooling(CUDNN_POOLING_MAX_DETERMINISTIC, kernel, stride, padding).handle(), ops.one(),
                out.descriptor().handle(), out.buffer().pointer(), dOut.descriptor().handle(), dOut.buffer().pointer(),
                in.descriptor().handle(), in.buffer().pointer(), ops.zero(), dIn.descriptor().handle(),
                dIn.buffer().pointer()), "cudnnPoolingBackward", in.descriptor().shape());
    }

    // ---------------------------------------------------------------- batch norm

    /**
     * Backward of inference-mode batch norm (frozen statistics): dIn = dOut · gamma·invStd (written; may be null;
     * may be dOut), dGamma += Σ dOut · x̂, dBeta += Σ dOut.
     */
    public void batchNormBackward(GpuTensor dIn, GpuTensor dGamma, GpuTensor dBeta, GpuTensor dOut, GpuTensor in,
                                  GpuTensor gamma, GpuTensor mean, GpuTensor var, float eps) {
        dOut.requireSameShape("batchNormBackward dOut", in);
        int n = in.dim(0), c = in.dim(1), hw = (int) (in.elements() / ((long) n * c));
        // The parameter sums read dOut before the data gradient may overwrite it.
        kernels.bnEvalBackwardParams(stream, dOut.buffer(), in.buffer(), mean.buffer(), var.buffer(), dGamma.buffer(),
                dBeta.buffer(), eps, n, c, hw);
        if (dIn != null) {
            dIn.requireSameShape("batchNormBackward dIn", in);
            kernels.bnEvalBackwardData(stream, dOut.buffer(), gamma.buffer(), var.buffer(), dIn.buffer(), eps, n, c, hw);
        }
    }

    /**
     * Training-mode batch norm ({@code cudnnBatchNormalizationForwardTraining}, SPATIAL): out from the batch mean and
     * biased variance; running statistics (may be null) move by {@code momentum} towards the batch mean and the
     * unbiased variance, as torch; saveMean and saveInvStd [C] are kept for the backward. out may be in.
     */
    public void batchNormTrain(GpuTensor out, GpuTensor saveMean, GpuTensor saveInvStd, GpuTensor in, GpuTensor gamma,
                               GpuTensor beta, GpuTensor runningMean, GpuTensor runningVar, float momentum, float eps) {
        out.requireSameShape("batchNormTrain output", in);
        boolean running = runningMean != null && runningVar != null;
        Cudnn.check(cudnnBatchNormalizationForwardTraining(ops.cudnn().handle(), CUDNN_BATCHNORM_SPATIAL, ops.one(),
                ops.zero(), in.descriptor().handle(), in.buffer().pointer(), out.descriptor().handle(),
                out.buffer().pointer(), gamma.descriptor().handle(), gamma.buffer().pointer(), beta.buffer().pointer(),
                running ? momentum : 0.0, running ? runningMean.buffer().pointer() : null,
                running ? runningVar.buffer().pointer() : null, eps, saveMean.buffer().pointer(),
                saveInvStd.buffer().pointer()), "cudnnBatchNormalizationForwardTraining", in.descriptor().shape());
    }

    /**
     * Backward of {@link #batchNormTrain} ({@code cudnnBatchNormalizationBackward}): dIn written (through a scratch
     * buffer when it is dOut's memory), dGamma and dBeta accumulated.
     */
    public void batchNormTrainBackward(GpuTensor dIn, GpuTensor dGamma, GpuTensor dBeta, GpuTensor dOut, GpuTensor in,
                                       GpuTensor gamma, GpuTensor saveMean, GpuTensor saveInvStd) {
        dOut.requireSameShape("batchNormTrainBackward dOut", in);
        dIn.requireSameShape("batchNormTrainBackward dIn", in);
        DeviceBuffer dx = dIn.buffer();
        boolean aliased = dIn.sameMemory(dOut);
        // cuDNN wants the forward's epsilon here; CpuGrads's twin takes none (it reads saveInvStd), and every batch
        // norm of the family uses torchvision's, ConvBn.BN_EPS.
        if (aliased) {
            if (bnScratch == null || bnScratch.bytes() < in.bytes()) {
                if (bnScratch != null) {
                    stream.synchronize();
                    bnScratch.close();
                }
                bnScratch = DeviceMemory.allocate(in.bytes(), "batch norm backward scratch");
            }
            dx = bnScratch.buffer().slice(0, in.bytes());
        }
        Cudnn.check(cudnnBatchNormalizationBackward(ops.cudnn().handle(), CUDNN_BATCHNORM_SPATIAL, ops.one(), ops.zero(),
                ops.one(), ops.one(), in.descriptor().handle(), in.buffer().pointer(), dOut.descriptor().handle(),
                dOut.buffer().pointer(), dIn.descriptor().handle(), dx.pointer(), gamma.descriptor().handle(),
                gamma.buffer().pointer(), dGamma.buffer().pointer(), dBeta.buffer().pointer(), ConvBn.BN_EPS,
                saveMean.buffer().pointer(), saveInvStd.buffer().pointer()), "cudnnBatchNormalizationBackward",
                in.descriptor().shape());
        if (aliased) {
            dIn.buffer().copyFrom(stream, dx);
        }
    }

    // ---------------------------------------------------------------- convolution

    /** Backward of the convolution with respect to its input: dIn = convᵀ(dOut, weight) (written). */
    public void conv2dBackwardData(GpuTensor dIn, GpuTensor dOut, GpuTensor weight, int stride, int padding,
                                   int groups) {
        GpuOps.ConvPlan p = ops.plan(dOut, dIn, weight, stride, padding, groups);
        ConvAlgorithms.Choice c = p.choose(ConvAlgorithms.Direction.BACKWARD_DATA, dIn, weight, dOut);
        DeviceBuffer ws = p.workspace(ConvAlgorithms.Direction.BACKWARD_DATA);
        Cudnn.check(cudnnConvolutionBackwardData(ops.cudnn().handle(), ops.one(), weight.filterDescriptor().handle(),
                weight.buffer().pointer(), dOut.descriptor().handle(), dOut.buffer().pointer(),
                p.descriptor(ConvAlgorithms.Direction.BACKWARD_DATA).handle(), c.algo(), ws.pointer(),
                c.workspaceBytes(), ops.zero(), dIn.descriptor().handle(), dIn.buffer().pointer()),
                "cudnnConvolutionBackwardData", p.key(), "algo " + c.algo());
    }

    /** Backward of the convolution with respect to its weight: dWeight += filter gradient of (in, dOut). */
    public void conv2dBackwardFilter(GpuTensor dWeight, GpuTensor dOut, GpuTensor in, int stride, int padding,
                                     int groups) {
        GpuOps.ConvPlan p = ops.plan(dOut, in, dWeight, stride, padding, groups);
        ConvAlgorithms.Choice c = p.choose(ConvAlgorithms.Direction.BACKWARD_FILTER, in, dWeight, dOut);
        DeviceBuffer ws = p.workspace(ConvAlgorithms.Direction.BACKWARD_FILTER);
        Cudnn.check(cudnnConvolutionBackwardFilter(ops.cudnn().handle(), ops.one(), in.descriptor().handle(),
                in.buffer().pointer(), dOut.descriptor().handle(), dOut.buffer().pointer(),
                p.descriptor(ConvAlgorithms.Direction.BACKWARD_FILTER).handle(), c.algo(), ws.pointer(),
                c.workspaceBytes(), ops.one(), dWeight.filterDescriptor().handle(), dWeight.buffer().pointer()),
                "cudnnConvolutionBackwardFilter", p.key(), "algo " + c.algo());
    }

    @Override
    public void close() {
        try {
            stream.synchronize();
        } catch (RuntimeException e) {
            // closing after a failure: still free what we can
        }
        if (lossScratch != null) {
            lossScratch.close();
        }
        if (bnScratch != null) {
            bnScratch.close();
        }
    }
}
