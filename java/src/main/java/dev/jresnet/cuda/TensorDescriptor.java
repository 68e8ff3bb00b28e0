package dev.jresnet.cuda;

import org.bytedeco.cuda.cudnn.cudnnTensorStruct;

import static org.bytedeco.cuda.global.cudnn.*;

/** A 4-D cuDNN tensor descriptor ({@code cudnnSetTensor4dDescriptor}) in NCHW or NHWC, fp32 or fp16. */
public final class TensorDescriptor extends CudaResource {
    private final cudnnTensorStruct desc;
    private final Layout layout;
    private final ElementType element;
    private final int n, c, h, w;

    private TensorDescriptor(cudnnTensorStruct desc, Layout layout, ElementType element, int n, int c, int h, int w) {
        this.desc = desc;
        this.layout = layout;
        this.element = element;
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
    }

    /** A descriptor of an n x c x h x w tensor stored in {@code layout} with elements of {@code element}. */
    public static TensorDescriptor create(Layout layout, ElementType element, int n, int c, int h, int w) {
        cudnnTensorStruct d = new cudnnTensorStruct();
        Cudnn.check(cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor");
        TensorDescriptor t = new TensorDescriptor(d, layout, element, n, c, h, w);
        try {
            Cudnn.check(cudnnSetTensor4dDescriptor(d, layout.cudnnFormat(), element.cudnnType(), n, c, h, w),
                    "cudnnSetTensor4dDescriptor", t.shape());
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    public static TensorDescriptor nchw(ElementType element, int n, int c, int h, int w) {
        return create(Layout.NCHW, element, n, c, h, w);
    }

    public static TensorDescriptor nhwc(ElementType element, int n, int c, int h, int w) {
        return create(Layout.NHWC, element, n, c, h, w);
    }

    /** The {@code cudnnTensorDescriptor_t} for preset calls. */
    public cudnnTensorStruct handle() {
        checkOpen();
        return desc;
    }

    public Layout layout() { return layout; }
    public ElementType element() { return element; }
    public int n() { return n; }
    public int c() { return c; }
    public int h() { return h; }
    public int w() { return w; }

    public long elements() {
        return (long) n * c * h * w;
    }

    public long bytes() {
        return elements() * element.bytes();
    }

    /** "NHWC FP16 n=8 c=64 h=56 w=56", used in error contexts. */
    public String shape() {
        return layout + " " + element + " n=" + n + " c=" + c + " h=" + h + " w=" + w;
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
