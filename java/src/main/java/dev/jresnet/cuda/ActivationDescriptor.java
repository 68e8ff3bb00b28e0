package dev.jresnet.cuda;

import org.bytedeco.cuda.cudnn.cudnnActivationStruct;

import static org.bytedeco.cuda.global.cudnn.*;

/** A cuDNN activation descriptor ({@code cudnnSetActivationDescriptor}); ResNet needs {@link #relu()}. */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class ActivationDescriptor extends CudaResource {
    private final cudnnActivationStruct desc;
    private final int mode;
    private final double coef;

    private ActivationDescriptor(cudnnActivationStruct desc, int mode, double coef) {
        this.desc = desc;
        this.mode = mode;
        this.coef = coef;
    }

    /** {@code mode} is a {@code CUDNN_ACTIVATION_*} constant; NaNs propagate; {@code coef} as cuDNN defines it. */
    public static ActivationDescriptor create(int mode, double coef) {
        cudnnActivationStruct d = new cudnnActivationStruct();
        Cudnn.check(cudnnCreateActivationDescriptor(d), "cudnnCreateActivationDescriptor");
        ActivationDescriptor a = new ActivationDescriptor(d, mode, coef);
        try {
            Cudnn.check(cudnnSetActivationDescriptor(d, mode, CUDNN_PROPAGATE_NAN, coef),
                    "cudnnSetActivationDescriptor", "mode=" + mode, "coef=" + coef);
        } catch (RuntimeException e) {
            a.close();
            throw e;
        }
        return a;
    }

    public static ActivationDescriptor relu() {
        return create(CUDNN_ACTIVATION_RELU, 0.0);
    }

    /** CUDNN_ACTIVATION_IDENTITY: what cudnnConvolutionBiasActivationForward needs for "no activation". */
    public static ActivationDescriptor identity() {
        return create(CUDNN_ACTIVATION_IDENTITY, 0.0);
    }

    public cudnnActivationStruct handle() {
        checkOpen();
        return desc;
    }

    @Override
    protected String describe() {
        return "ActivationDescriptor(mode=" + mode + ", coef=" + coef + ")";
    }

    @Override
    protected void release() {
        Cudnn.check(cudnnDestroyActivationDescriptor(desc), "cudnnDestroyActivationDescriptor");
    }
}
