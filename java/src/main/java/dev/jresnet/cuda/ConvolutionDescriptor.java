package dev.jresnet.cuda;

import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * A 2-D cuDNN convolution descriptor ({@code cudnnSetConvolution2dDescriptor}, cross-correlation as in
 * PyTorch), with its math type and group count.
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class ConvolutionDescriptor extends CudaResource {
    /** cuDNN's {@code cudnnMathType_t}. */
    public enum MathType {
        /** CUDNN_DEFAULT_MATH: tensor cores for fp16; for fp32 cuDNN may still pick TF32 kernels. */
        DEFAULT(CUDNN_DEFAULT_MATH),
        /** CUDNN_TENSOR_OP_MATH: tensor cores allowed (fp16 data). */
        TENSOR_OP(CUDNN_TENSOR_OP_MATH),
        /** CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: tensor cores even when that means converting fp32 down. */
        TENSOR_OP_ALLOW_CONVERSION(CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION),
        /** CUDNN_FMA_MATH: FMA only, no tensor cores, so no TF32: exact fp32 for comparisons with the CPU. */
        FMA(CUDNN_FMA_MATH);

        private final int cudnnValue;

        MathType(int cudnnValue) {
            this.cudnnValue = cudnnValue;
        }

        public int cudnnValue() {
            return cudnnValue;
        }

        /** The constant for a {@code cudnnMathType_t} value (as a cudnnConvolutionFwdAlgoPerf_t reports it). */
        public static MathType of(int cudnnValue) {
            for (MathType m : values()) {
                if (m.cudnnValue == cudnnValue) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown cudnnMathType_t " + cudnnValue);
        }
    }

    private final cudnnConvolutionStruct desc;
    private final int padH, padW, strideH, strideW, dilationH, dilationW, groups;
    private final ElementType computeType;
    private final MathType mathType;

    private ConvolutionDescriptor(cudnnConvolutionStruct desc, int padH, int padW, int strideH, int strideW,
                                  int dilationH, int dilationW, ElementType computeType, MathType mathType, int groups) {
        this.desc = desc;
        this.padH = padH;
        this.padW = padW;
        this.strideH = strideH;
        this.strideW = strideW;
        this.dilationH = dilationH;
        this.dilationW = dilationW;
        this.computeType = computeType;
        this.mathType = mathType;
        this.groups = groups;
    }

    /**
     * A convolution with the given padding, stride and dilation, accumulating in {@code computeType} (FP32 for
     * both fp32 and fp16 data in this project), with {@code mathType} and {@code groups} groups.
     */
    public static ConvolutionDescriptor create(int padH, int padW, int strideH, int strideW, int dilationH,
                                               int dilationW, ElementType computeType, MathType mathType, int groups) {
        cudnnConvolutionStruct d = new cudnnConvolutionStruct();
        Cudnn.check(cudnnCreateConvolutionDescriptor(d), "cudnnCreateConvolutionDescriptor");
        ConvolutionDescriptor cd = new ConvolutionDescriptor(d, padH, padW, strideH, strideW, dilationH, dilationW,
                computeType, mathType, groups);
        try {
            Cudnn.check(cudnnSetConvolution2dDescriptor(d, padH, padW, strideH, strideW, dilationH, dilationW,
                    CUDNN_CROSS_CORRELATION, computeType.cudnnType()), "cudnnSetConvolution2dDescriptor", cd.params());
            Cudnn.check(cudnnSetConvolutionMathType(d, mathType.cudnnValue()), "cudnnSetConvolutionMathType", mathType);
            if (groups != 1) {
                Cudnn.check(cudnnSetConvolutionGroupCount(d, groups), "cudnnSetConvolutionGroupCount", "groups=" + groups);
            }
        } catch (RuntimeException e) {
            cd.close();
            throw e;
        }
        return cd;
    }

    /** Square padding and stride, no dilation, one group. */
    public static ConvolutionDescriptor create(int pad, int stride, ElementType computeType, MathType mathType) {
        return create(pad, pad, stride, stride, 1, 1, computeType, mathType, 1);
    }

    /** {@code cudnnGetConvolution2dForwardOutputDim}: {n, c, h, w} of the output. */
    public int[] outputDim(TensorDescriptor input, FilterDescriptor filter) {
        int[] n = {0}, c = {0}, h = {0}, w = {0};
        Cudnn.check(cudnnGetConvolution2dForwardOutputDim(handle(), input.handle(), filter.handle(), n, c, h, w),
                "cudnnGetConvolution2dForwardOutputDim", input.shape(), filter.shape(), params());
        return new int[] {n[0], c[0], h[0], w[0]};
    }

    public cudnnConvolutionStruct handle() {
        checkOpen();
        return desc;
    }

    public MathType mathType() {
        return mathType;
    }

    public ElementType computeType() {
        return computeType;
    }

    public String params() {
        return "pad=" + padH + "x" + padW + " stride=" + strideH + "x" + strideW + " dilation=" + dilationH + "x"
                + dilationW + " groups=" + groups + " compute=" + computeType + " math=" + mathType;
    }

    @Override
    protected String describe() {
        return "ConvolutionDescriptor(" + params() + ")";
    }

    @Override
    protected void release() {
        Cudnn.check(cudnnDestroyConvolutionDescriptor(desc), "cudnnDestroyConvolutionDescriptor");
    }
}
