package dev.jresnet.cuda;

import org.bytedeco.cuda.cudnn.cudnnTensorStruct;

import static org.bytedeco.cuda.global.cudnn.*;

/** A 4-D cuDNN tensor descriptor ({@code cudnnSetTensor4dDescriptor}) in NCHW or NHWC, fp32 or fp16. */
public final class TensorDescriptor extends CudaResource {
    private final cudnnTensorStruct desc;
    private final Layout layout;
    private final Precision precision;
    private final int n, c, h, w;

    private TensorDescriptor(cudnnTensorStruct desc, Layout layout, Precision precision, int n, int c, int h, int w) {
        this.desc = desc;
        this.layout = layout;
        this.precision = precision;
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
    }

    /** A descriptor of an n x c x h x w tensor stored in {@code layout} with elements of {@code precision}. */
    public static TensorDescriptor create(Layout layout, Precision precision, int n, int c, int h, int w) {
        cudnnTensorStruct d = new cudnnTensorStruct();
        Cudnn.check(cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor");
        TensorDescriptor t = new TensorDescriptor(d, layout, precision, n, c, h, w);
        try {
            Cudnn.check(cudnnSetTensor4dDescriptor(d, layout.cudnnFormat(), precision.cudnnType(), n, c, h, w),
                    "cudnnSetTensor4dDescriptor", t.shape());
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    public static TensorDescriptor nchw(Precision precision, int n, int c, int h, int w) {
        return create(Layout.NCHW, precision, n, c, h, w);
    }

    public static TensorDescriptor nhwc(Precision precision, int n, int c, int h, int w) {
        return create(Layout.NHWC, precision, n, c, h, w);
    }

    /** The {@code cudnnTensorDescriptor_t} for preset calls. */
    public cudnnTensorStruct handle() {
        checkOpen();
        return desc;
    }

    public Layout layout() { return layout; }
    public Precision precision() { return precision; }
    public int n() { return n; }
    public int c() { return c; }
    public int h() { return h; }
    public int w() { return w; }

    public long elements() {
        return (long) n * c * h * w;
    }

    public long bytes() {
        return elements() * precision.bytes();
    }

    /** "NHWC FP16 n=8 c=64 h=56 w=56", used in error contexts. */
    public String shape() {
        return layout + " " + precision + " n=" + n + " c=" + c + " h=" + h + " w=" + w;
    }

    @Override
    protected String describe() {
        return "TensorDescriptor(" + shape() + ")";
    }

    @Override
    protected void release() {
        Cudnn.check(cudnnDestroyTensorDescriptor(desc), "cudnnDestroyTensorDescriptor", shape());
    }
}
