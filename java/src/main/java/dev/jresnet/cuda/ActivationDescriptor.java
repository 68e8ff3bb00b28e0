package dev.jresnet.cuda;

import org.bytedeco.cuda.cudnn.cudnnActivationStruct;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * A cuDNN activation descriptor ({@code cudnnSetActivationDescriptor}). ResNet needs two ReLUs: {@link #relu()} for
 * {@code cudnnActivationForward} (NaN in, NaN out, like {@code Math.max} in the CPU reference and {@code torch.relu}),
 * and {@link #fusedRelu()} for {@code cudnnConvolutionBiasActivationForward}, which returns
 * {@code CUDNN_STATUS_NOT_SUPPORTED} when {@code reluNanOpt} is not {@code CUDNN_NOT_PROPAGATE_NAN} (cuDNN API
 * reference of that function; PyTorch's {@code cudnn_convolution_relu}, ONNX Runtime and TensorFlow pass the same).
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class ActivationDescriptor extends CudaResource {
    private final cudnnActivationStruct desc;
    private final int mode;
    private final int nanOption;
    private final double coef;

    private ActivationDescriptor(cudnnActivationStruct desc, int mode, int nanOption, double coef) {
        this.desc = desc;
        this.mode = mode;
        this.nanOption = nanOption;
        this.coef = coef;
    }

    /**
     * {@code mode} is a {@code CUDNN_ACTIVATION_*} constant, {@code nanOption} {@code CUDNN_PROPAGATE_NAN} or
     * {@code CUDNN_NOT_PROPAGATE_NAN}, {@code coef} as cuDNN defines it for the mode.
     */
    public static ActivationDescriptor create(int mode, int nanOption, double coef) {
        cudnnActivationStruct d = new cudnnActivationStruct();
        Cudnn.check(cudnnCreateActivationDescriptor(d), "cudnnCreateActivationDescriptor");
        ActivationDescriptor a = new ActivationDescriptor(d, mode, nanOption, coef);
        try {
            Cudnn.check(cudnnSetActivationDescriptor(d, mode, nanOption, coef),
                    "cudnnSetActivationDescriptor", "mode=" + mode, "reluNanOpt=" + nanOption, "coef=" + coef);
        } catch (RuntimeException e) {
            a.close();
            throw e;
        }
        return a;
    }

    /** ReLU for {@code cudnnActivationForward}: NaNs propagate. */
    public static ActivationDescriptor relu() {
        return create(CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0);
    }

    /**
     * ReLU for {@code cudnnConvolutionBiasActivationForward}: NaNs not propagated (the only option that call
     * supports), and {@code coef} = {@link Double#MAX_VALUE}: recent cuDNN documents {@code coef} of a ReLU as an
     * upper clip, and PyTorch and ONNX Runtime pass {@code DBL_MAX} so that it never clips.
     */
    public static ActivationDescriptor fusedRelu() {
        return create(CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, Double.MAX_VALUE);
    }

    public cudnnActivationStruct handle() {
        checkOpen();
        return desc;
    }

    @Override
    protected String describe() {
        return "ActivationDescriptor(mode=" + mode + ", reluNanOpt=" + nanOption + ", coef=" + coef + ")";
    }

    @Override
    protected void release() {
        Cudnn.check(cudnnDestroyActivationDescriptor(desc), "cudnnDestroyActivationDescriptor");
    }
}
