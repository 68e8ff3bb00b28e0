package dev.jresnet.cuda;

import dev.jresnet.tensor.Precision;

import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_FAST_TF32;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_PEDANTIC;

/**
 * What a {@link Precision} means to cuDNN and cuBLAS: layout and element type of activations and filters, the
 * convolution math type, the cuBLAS math mode and compute type. (Only compile-time constants: nothing native is
 * loaded by touching this class.)
 *
 * @param layout        of activations and filters
 * @param element       of activations, filters and convolution biases
 * @param convMath      of every convolution descriptor (FP32 keeps FMA whatever the heuristics say)
 * @param cublasMath    the cuBLAS handle's math mode
 * @param cublasCompute {@code cublasComputeType_t} of the GEMMs
 */
public record CudaPrecision(Precision precision, Layout layout, ElementType element,
                            ConvolutionDescriptor.MathType convMath, CublasHandle.MathMode cublasMath,
                            int cublasCompute) {
    /**
     * FP32: NCHW fp32, FMA only, cuBLAS pedantic. TF32: NCHW fp32 data, tensor cores may round inputs to TF32.
     * FP16: NHWC fp16 activations and filters, tensor cores, fp32 accumulation; the classifier runs in fp32 on the
     * fp32 pooled features.
     */
    public static CudaPrecision of(Precision p) {
        return switch (p) {
            case FP32 -> new CudaPrecision(p, Layout.NCHW, ElementType.FP32, ConvolutionDescriptor.MathType.FMA,
                    CublasHandle.MathMode.PEDANTIC, CUBLAS_COMPUTE_32F_PEDANTIC);
            case TF32 -> new CudaPrecision(p, Layout.NCHW, ElementType.FP32, ConvolutionDescriptor.MathType.TENSOR_OP,
                    CublasHandle.MathMode.TF32, CUBLAS_COMPUTE_32F_FAST_TF32);
            case FP16 -> new CudaPrecision(p, Layout.NHWC, ElementType.FP16, ConvolutionDescriptor.MathType.TENSOR_OP,
                    CublasHandle.MathMode.DEFAULT, CUBLAS_COMPUTE_32F);
        };
    }

    /**
     * Channels the network input is stored with: fp16 NHWC rounds 3 up to 8 (zeros after the colours), so that a
     * pixel is 16 bytes: cuDNN's tensor-core and fused kernels for NHWC fp16 want channel counts that are multiples
     * of 8 (what MLPerf's and TensorRT's ResNet stems do too); the stem's filter gets zero weights for the extra
     * channels, so the result is unchanged. fp32 NCHW keeps {@code c}.
     */
    public int inputChannels(int c) {
        return element == ElementType.FP16 ? (c + 7) / 8 * 8 : c;
    }

    /**
     * {@link #inputChannels(int)} for a convolution of {@code groups} groups reading such an input: only an ungrouped
     * one is padded (padding a grouped convolution's input would move channels between groups).
     */
    public int inputChannels(int c, int groups) {
        return groups == 1 ? inputChannels(c) : c;
    }

    /** True when no reduced-precision arithmetic is allowed (algorithm choices must keep FMA math). */
    public boolean exact() {
        return precision.exact();
    }
}
