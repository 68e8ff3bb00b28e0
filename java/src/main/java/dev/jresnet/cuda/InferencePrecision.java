package dev.jresnet.cuda;

import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_FAST_TF32;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_PEDANTIC;

/**
 * How the GPU network computes: layout and element type of activations and filters, cuDNN math type, cuBLAS
 * math mode and compute type of the classifier. (All constants used here are compile-time constants: nothing
 * native is loaded by touching this enum.)
 */
public enum InferencePrecision {
    /** NCHW fp32, FMA only (no TF32 anywhere), cuBLAS pedantic: agrees with the CPU reference to ~1e-6. */
    FP32(Layout.NCHW, Precision.FP32, ConvolutionDescriptor.MathType.FMA, CublasHandle.MathMode.PEDANTIC,
            CUBLAS_COMPUTE_32F_PEDANTIC),
    /** NCHW fp32 data, tensor cores allowed to round inputs to TF32 (convolutions and the classifier). */
    TF32(Layout.NCHW, Precision.FP32, ConvolutionDescriptor.MathType.TENSOR_OP, CublasHandle.MathMode.TF32,
            CUBLAS_COMPUTE_32F_FAST_TF32),
    /**
     * NHWC fp16 activations and filters, tensor cores, fp32 accumulation (convolution compute type FLOAT);
     * the classifier runs in fp32 on the fp32 pooled features.
     */
    FP16(Layout.NHWC, Precision.FP16, ConvolutionDescriptor.MathType.TENSOR_OP, CublasHandle.MathMode.DEFAULT,
            CUBLAS_COMPUTE_32F);

    private final Layout layout;
    private final Precision element;
    private final ConvolutionDescriptor.MathType convMath;
    private final CublasHandle.MathMode cublasMath;
    private final int cublasCompute;

    InferencePrecision(Layout layout, Precision element, ConvolutionDescriptor.MathType convMath,
                       CublasHandle.MathMode cublasMath, int cublasCompute) {
        this.layout = layout;
        this.element = element;
        this.convMath = convMath;
        this.cublasMath = cublasMath;
        this.cublasCompute = cublasCompute;
    }

    /** Layout of activations and filters. */
    public Layout layout() {
        return layout;
    }

    /** Element type of activations, filters and convolution biases. */
    public Precision element() {
        return element;
    }

    /** Math type of every convolution descriptor (FP32 keeps FMA whatever the heuristics say). */
    public ConvolutionDescriptor.MathType convMath() {
        return convMath;
    }

    public CublasHandle.MathMode cublasMath() {
        return cublasMath;
    }

    /** {@code cublasComputeType_t} of the classifier GEMM. */
    public int cublasCompute() {
        return cublasCompute;
    }

    /** True when no reduced-precision arithmetic is allowed (the algorithm choice must keep FMA math). */
    public boolean exact() {
        return this == FP32;
    }

    /** "fp32", "tf32" or "fp16" (case-insensitive). */
    public static InferencePrecision parse(String s) {
        for (InferencePrecision p : values()) {
            if (p.name().equalsIgnoreCase(s)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision \"" + s + "\" (expected fp32, tf32 or fp16)");
    }
}
