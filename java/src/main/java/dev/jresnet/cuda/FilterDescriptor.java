package dev.jresnet.cuda;

import org.bytedeco.cuda.cudnn.cudnnFilterStruct;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * A 4-D cuDNN filter descriptor ({@code cudnnSetFilter4dDescriptor}): k output channels, c input channels
 * (per group), r x s window; layout NCHW means [K][C][R][S], NHWC means [K][R][S][C].
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class FilterDescriptor extends CudaResource {
    private final cudnnFilterStruct desc;
    private final Layout layout;
    private final ElementType element;
    private final int k, c, r, s;

    private FilterDescriptor(cudnnFilterStruct desc, Layout layout, ElementType element, int k, int c, int r, int s) {
        this.desc = desc;
        this.layout = layout;
        this.element = element;
        this.k = k;
        this.c = c;
        this.r = r;
        this.s = s;
    }

    public static FilterDescriptor create(Layout layout, ElementType element, int k, int c, int r, int s) {
        cudnnFilterStruct d = new cudnnFilterStruct();
        Cudnn.check(cudnnCreateFilterDescriptor(d), "cudnnCreateFilterDescriptor");
        FilterDescriptor f = new FilterDescriptor(d, layout, element, k, c, r, s);
        try {
            Cudnn.check(cudnnSetFilter4dDescriptor(d, element.cudnnType(), layout.cudnnFormat(), k, c, r, s),
                    "cudnnSetFilter4dDescriptor", f.shape());
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
        return f;
    }

    public cudnnFilterStruct handle() {
        checkOpen();
        return desc;
    }

    public Layout layout() { return layout; }
    public ElementType element() { return element; }
    public int k() { return k; }
    public int c() { return c; }
    public int r() { return r; }
    public int s() { return s; }

    public long bytes() {
        return (long) k * c * r * s * element.bytes();
    }

    public String shape() {
        return layout + " " + element + " k=" + k + " c=" + c + " r=" + r + " s=" + s;
    }

    @Override
    protected String describe() {
        return "FilterDescriptor(" + shape() + ")";
    }

    @Override
    protected void release() {
        Cudnn.check(cudnnDestroyFilterDescriptor(desc), "cudnnDestroyFilterDescriptor", shape());
    }
}
