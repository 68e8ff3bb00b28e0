package dev.jresnet.cuda;

import dev.jresnet.image.RgbImage;
import dev.jresnet.tensor.Half;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.bytedeco.javacpp.FloatPointer;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

import static org.bytedeco.cuda.global.cudnn.cudnnPoolingForward;

/**
 * Single GPU ops on host tensors, through exactly the code the network runs ({@link ConvExec}, cuDNN
 * pooling, the pool kernel and the cuBLAS classifier, the preprocessing kernels): for tests against the CPU
 * reference and for the doctor's smoke test. Inputs and outputs are NCHW fp32 host tensors; for
 * {@link InferencePrecision#FP16} they are converted to NHWC fp16 on the host (round to nearest even) and
 * back. Slow (allocates per call); not for production use.
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class GpuOps implements AutoCloseable {
    private final CudaContext context;
    private final InferencePrecision precision;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final Stream stream;
    private final CudnnHandle cudnn;
    private final CublasHandle cublas;
    private final ConvExec.Scalars scalars;
    private final ConvAlgorithms algorithms = new ConvAlgorithms(ConvAlgorithms.Search.HEURISTIC, 256L << 20);
    private Kernels kernels;

    public GpuOps(CudaContext context, InferencePrecision precision) {
        this.context = context;
        this.precision = precision;
        try {
            context.makeCurrent();
            stream = own(Stream.create());
            cudnn = own(CudnnHandle.create(stream));
            cublas = own(CublasHandle.create(stream));
            cublas.setMathMode(precision.cublasMath());
            scalars = new ConvExec.Scalars(own(new FloatPointer(1).put(1f)), own(new FloatPointer(1).put(0f)),
                    own(ActivationDescriptor.relu()));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private <T extends AutoCloseable> T own(T r) {
        owned.push(r);
        return r;
    }

    /**
     * {@code relu(conv(x, w) + bias [+ residual])} when {@code bias} is not null (the fused op), else
     * {@code conv(x, w)}. x [N,C,H,W], w [K,C,R,R], bias [K], residual [N,K,P,Q] or null.
     */
    public Tensor conv(Tensor x, Tensor w, Tensor bias, Tensor residual, int stride, int pad) {
        if (x.rank() != 4 || w.rank() != 4 || w.dim(1) != x.dim(1) || w.dim(2) != w.dim(3)) {
            throw new IllegalArgumentException("conv: input " + x.shape() + " and weight " + w.shape()
                    + " do not fit ([N,C,H,W] and [K,C,R,R])");
        }
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), k = w.dim(0), r = w.dim(2);
        NetworkPlan.ConvLayer layer = new NetworkPlan.ConvLayer("conv", k, c, r, r, stride, pad, w.data(),
                bias == null ? null : bias.data());
        int p = layer.outSize(h), q = layer.outSize(wd);
        if (residual != null && !residual.shape().equals(Shape.of(n, k, p, q))) {
            throw new IllegalArgumentException("conv: residual " + residual.shape() + " != output [" + n + ", " + k
                    + ", " + p + ", " + q + "]");
        }
        int e = precision.element().bytes();
        try (DeviceArena arena = DeviceArena.create(LayerWeights.arenaBytes(layer, precision), "test conv weights");
             LayerWeights lw = LayerWeights.upload(layer, precision, arena, stream);
             ConvExec op = ConvExec.create(cudnn, algorithms, precision, lw, n, h, wd, null);
             DeviceMemory in = upload(x);
             DeviceMemory z = residual == null ? null : upload(residual);
             DeviceMemory out = DeviceMemory.allocate((long) n * k * p * q * e, "test conv output");
             Workspace ws = new Workspace(stream, "test conv")) {
            op.run(cudnn, scalars, in.buffer(), z == null ? null : z.buffer(), out.buffer(), ws.ensure(op.workspaceBytes));
            return download(out, n, k, p, q);
        }
    }

    /** Max pooling (square window) of x [N,C,H,W]. */
    public Tensor maxPool(Tensor x, int window, int pad, int stride) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int p = (h + 2 * pad - window) / stride + 1, q = (w + 2 * pad - window) / stride + 1;
        try (PoolingDescriptor pool = PoolingDescriptor.max(window, pad, stride);
             TensorDescriptor xd = TensorDescriptor.create(precision.layout(), precision.element(), n, c, h, w);
             TensorDescriptor yd = TensorDescriptor.create(precision.layout(), precision.element(), n, c, p, q);
             DeviceMemory in = upload(x);
             DeviceMemory out = DeviceMemory.allocate(yd.bytes(), "test pool output")) {
            Cudnn.check(cudnnPoolingForward(cudnn.handle(), pool.handle(), scalars.one(), xd.handle(),
                    in.buffer().pointer(), scalars.zero(), yd.handle(), out.buffer().pointer()), "cudnnPoolingForward",
                    xd.shape(), yd.shape());
            return download(out, n, c, p, q);
        }
    }

    /** The network's head: global average pool of x [N,C,H,W] then fc (weight [K,C], bias [K]): [N,K]. */
    public Tensor head(Tensor x, Tensor weight, Tensor bias) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), k = weight.dim(0);
        if (weight.dim(1) != c || bias.dim(0) != k) {
            throw new IllegalArgumentException("head: fc weight " + weight.shape() + " / bias " + bias.shape()
                    + " do not fit features " + x.shape());
        }
        try (DeviceMemory in = upload(x);
             DeviceMemory pooled = DeviceMemory.allocate(4L * n * c, "test pooled");
             DeviceMemory wt = DeviceMemory.allocate(4L * k * c, "test fc weight");
             DeviceMemory b = DeviceMemory.allocate(4L * k, "test fc bias");
             DeviceMemory ones = DeviceMemory.allocate(4L * n, "test ones");
             DeviceMemory out = DeviceMemory.allocate(4L * n * k, "test logits")) {
            wt.buffer().upload(stream, weight.data());
            b.buffer().upload(stream, bias.data());
            float[] one = new float[n];
            java.util.Arrays.fill(one, 1f);
            ones.buffer().upload(stream, one);
            if (precision.element() == Precision.FP16) {
                kernels().globalAvgPoolNhwcF16(stream, in.buffer(), pooled.buffer(), n, c, h, w);
            } else {
                kernels().globalAvgPoolNchwF32(stream, in.buffer(), pooled.buffer(), n, c, h, w);
            }
            ExecutionContext.classifier(cublas, scalars, wt.buffer(), b.buffer(), ones.buffer(), pooled.buffer(),
                    out.buffer(), n, c, k, precision);
            float[] result = new float[n * k];
            out.buffer().download(stream, result);
            return new Tensor(Shape.of(n, k), result);
        }
    }

    /** The GPU preprocessing of cropped 8-bit images to the network input, returned as NCHW fp32. */
    public Tensor preprocess(List<RgbImage> crops, float[] mean, float[] std) {
        int n = crops.size(), h = crops.get(0).height(), w = crops.get(0).width();
        byte[] bytes = new byte[n * h * w * 3];
        for (int i = 0; i < n; i++) {
            System.arraycopy(crops.get(i).pixels(), 0, bytes, i * h * w * 3, h * w * 3);
        }
        try (DeviceMemory in = DeviceMemory.allocate(bytes.length, "test 8-bit images");
             DeviceMemory out = DeviceMemory.allocate((long) n * 3 * h * w * precision.element().bytes(), "test input")) {
            in.buffer().upload(stream, bytes);
            if (precision.element() == Precision.FP16) {
                kernels().preprocessU8ToNhwcF16(stream, in.buffer(), out.buffer(), n, h, w, mean, std);
            } else {
                kernels().preprocessU8ToNchwF32(stream, in.buffer(), out.buffer(), n, h, w, mean, std);
            }
            return download(out, n, 3, h, w);
        }
    }

    private Kernels kernels() {
        if (kernels == null) {
            kernels = own(Kernels.load(context));
        }
        return kernels;
    }

    /** Host NCHW fp32 to the precision's device layout. */
    private DeviceMemory upload(Tensor t) {
        int n = t.dim(0), c = t.dim(1), h = t.dim(2), w = t.dim(3);
        DeviceMemory m = DeviceMemory.allocate((long) t.size() * precision.element().bytes(), "test tensor " + t.shape());
        try {
            if (precision.element() == Precision.FP16) {
                m.buffer().upload(stream, toNhwcHalf(t.data(), n, c, h, w));
            } else {
                m.buffer().upload(stream, t.data());
            }
            return m;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private Tensor download(DeviceMemory m, int n, int c, int h, int w) {
        float[] out = new float[n * c * h * w];
        if (precision.element() == Precision.FP16) {
            short[] half = new short[out.length];
            m.buffer().download(stream, half);
            fromNhwcHalf(half, out, n, c, h, w);
        } else {
            m.buffer().download(stream, out);
        }
        return new Tensor(Shape.of(n, c, h, w), out);
    }

    /** NCHW fp32 to NHWC fp16 bits. */
    public static short[] toNhwcHalf(float[] x, int n, int c, int h, int w) {
        short[] out = new short[x.length];
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < h * w; i++) {
                    out[(b * h * w + i) * c + ch] = Half.floatToF16(x[(b * c + ch) * h * w + i]);
                }
            }
        }
        return out;
    }

    /** NHWC fp16 bits to NCHW fp32 (exact). */
    public static void fromNhwcHalf(short[] x, float[] out, int n, int c, int h, int w) {
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < h * w; i++) {
                    out[(b * c + ch) * h * w + i] = Half.f16ToFloat(x[(b * h * w + i) * c + ch]);
                }
            }
        }
    }

    @Override
    public void close() {
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                // best effort
            }
        }
    }
}
