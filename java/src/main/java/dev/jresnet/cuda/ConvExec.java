package dev.jresnet.cuda;

import org.bytedeco.javacpp.FloatPointer;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * One convolution at one batch size, ready to run: its input and output descriptors, convolution descriptor
 * (with the chosen algorithm's math type), algorithm and workspace size. With a bias it runs
 * {@code y = relu(conv(x) + bias [+ z])} as one {@code cudnnConvolutionBiasActivationForward} (alpha1 = 1,
 * alpha2 = 1 with a residual z, else 0 with z = y); without a bias it runs {@code y = conv(x)}
 * ({@code cudnnConvolutionForward}).
 *
 * <p>If cuDNN rejects the fused call as unsupported for this configuration (a BAD_PARAM or NOT_SUPPORTED
 * status), the op falls back for good to the unfused sequence {@code cudnnConvolutionForward},
 * {@code cudnnAddTensor} (bias, then z), {@code cudnnActivationForward} (ReLU), and says so in a warning.
 * The first run of a context is always eager (never under graph capture), so the fallback is decided there.
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
final class ConvExec implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ConvExec.class.getName());

    /** Host scalars and the ReLU descriptor every op of a context shares. */
    record Scalars(FloatPointer one, FloatPointer zero, ActivationDescriptor relu) {}

    final LayerWeights weights;
    final TensorDescriptor x;
    final TensorDescriptor y;
    final ConvolutionDescriptor conv;
    final ConvAlgorithms.Choice choice;
    final long workspaceBytes;
    private boolean fused = true;

    private ConvExec(LayerWeights weights, TensorDescriptor x, TensorDescriptor y, ConvolutionDescriptor conv,
                     ConvAlgorithms.Choice choice, long workspaceBytes) {
        this.weights = weights;
        this.x = x;
        this.y = y;
        this.conv = conv;
        this.choice = choice;
        this.workspaceBytes = workspaceBytes;
    }

    /** Descriptors and algorithm for {@code weights}' layer on an n x c x h x w input. */
    static ConvExec create(CudnnHandle handle, ConvAlgorithms algorithms, InferencePrecision p, LayerWeights weights,
                           int n, int h, int w, ConvAlgorithms.FindBuffers find) {
        NetworkPlan.ConvLayer l = weights.layer;
        TensorDescriptor x = null, y = null;
        ConvolutionDescriptor query = null, conv = null;
        try {
            x = TensorDescriptor.create(p.layout(), p.element(), n, l.c(), h, w);
            query = ConvolutionDescriptor.create(l.pad(), l.stride(), Precision.FP32, p.convMath());
            int[] out = query.outputDim(x, weights.filterDesc);
            int[] expected = {n, l.k(), l.outSize(h), l.outSize(w)};
            if (!java.util.Arrays.equals(out, expected)) {
                throw new IllegalStateException(l.name() + ": cuDNN output " + java.util.Arrays.toString(out)
                        + " != planned " + java.util.Arrays.toString(expected) + " for input " + x.shape());
            }
            y = TensorDescriptor.create(p.layout(), p.element(), out[0], out[1], out[2], out[3]);
            ConvAlgorithms.Key key = new ConvAlgorithms.Key(p, n, l.c(), h, w, l.k(), l.r(), l.s(), l.stride(), l.pad());
            ConvAlgorithms.Choice choice = algorithms.choose(key, handle, x, weights.filterDesc, query, y, find);
            if (choice.mathType() == query.mathType().cudnnValue()) {
                conv = query;
                query = null;
            } else {
                conv = ConvolutionDescriptor.create(l.pad(), l.stride(), Precision.FP32,
                        ConvolutionDescriptor.MathType.of(choice.mathType()));
            }
            long ws = ConvAlgorithms.workspaceSize(handle, x, weights.filterDesc, conv, y, choice.algo(), l.name());
            return new ConvExec(weights, x, y, conv, choice, Math.max(ws, choice.workspaceBytes()));
        } catch (RuntimeException e) {
            closeAll(conv, y, x);
            throw e;
        } finally {
            if (query != null) {
                query.close();
            }
        }
    }

    /** Whether the fused call is (still) used. */
    boolean fused() {
        return fused;
    }

    /**
     * Queues the op on the handle's stream. {@code z} is the residual (same shape as y) or null; it is only
     * allowed for a layer with a bias. {@code workspace} holds at least {@link #workspaceBytes}.
     */
    void run(CudnnHandle handle, Scalars s, DeviceBuffer in, DeviceBuffer z, DeviceBuffer out, DeviceBuffer workspace) {
        requireBytes(in, x.bytes(), "input");
        requireBytes(out, y.bytes(), "output");
        if (z != null) {
            requireBytes(z, y.bytes(), "residual");
        }
        if (workspaceBytes > 0) {
            requireBytes(workspace, workspaceBytes, "workspace");
        }
        if (weights.bias == null) {
            if (z != null) {
                throw new IllegalArgumentException(name() + ": a residual needs the fused op with a bias");
            }
            convolution(handle, s, in, out, workspace);
            return;
        }
        if (fused) {
            int status = cudnnConvolutionBiasActivationForward(handle.handle(), s.one(), x.handle(), in.pointer(),
                    weights.filterDesc.handle(), weights.filter.pointer(), conv.handle(), choice.algo(),
                    workspace.pointer(), workspaceBytes, z != null ? s.one() : s.zero(), y.handle(),
                    z != null ? z.pointer() : out.pointer(), weights.biasDesc.handle(), weights.bias.pointer(),
                    s.relu().handle(), y.handle(), out.pointer());
            if (status == CUDNN_STATUS_SUCCESS) {
                return;
            }
            if (!isUnsupported(status)) {
                Cudnn.check(status, "cudnnConvolutionBiasActivationForward", context(z != null));
            }
            fused = false;
            LOG.log(System.Logger.Level.WARNING, "cudnnConvolutionBiasActivationForward: " + Cudnn.errorString(status)
                    + " for " + context(z != null) + "; using convolution + add + ReLU for this layer");
        }
        convolution(handle, s, in, out, workspace);
        Cudnn.check(cudnnAddTensor(handle.handle(), s.one(), weights.biasDesc.handle(), weights.bias.pointer(), s.one(),
                y.handle(), out.pointer()), "cudnnAddTensor", "bias of " + name(), y.shape());
        if (z != null) {
            Cudnn.check(cudnnAddTensor(handle.handle(), s.one(), y.handle(), z.pointer(), s.one(), y.handle(),
                    out.pointer()), "cudnnAddTensor", "residual of " + name(), y.shape());
        }
        Cudnn.check(cudnnActivationForward(handle.handle(), s.relu().handle(), s.one(), y.handle(), out.pointer(),
                s.zero(), y.handle(), out.pointer()), "cudnnActivationForward", "ReLU of " + name(), y.shape());
    }

    private void convolution(CudnnHandle handle, Scalars s, DeviceBuffer in, DeviceBuffer out, DeviceBuffer workspace) {
        Cudnn.check(cudnnConvolutionForward(handle.handle(), s.one(), x.handle(), in.pointer(),
                weights.filterDesc.handle(), weights.filter.pointer(), conv.handle(), choice.algo(), workspace.pointer(),
                workspaceBytes, s.zero(), y.handle(), out.pointer()), "cudnnConvolutionForward", context(false));
    }

    /** cuDNN 9's BAD_PARAM (2000..2999) and NOT_SUPPORTED (3000..3999) families. */
    static boolean isUnsupported(int status) {
        return status >= CUDNN_STATUS_BAD_PARAM && status < CUDNN_STATUS_NOT_SUPPORTED + 1000;
    }

    String name() {
        return weights.layer.name();
    }

    private String context(boolean residual) {
        return name() + ": x " + x.shape() + ", w " + weights.filterDesc.shape() + ", y " + y.shape() + ", "
                + conv.params() + ", algo " + choice.algo() + " (" + choice.how() + "), workspace " + workspaceBytes
                + (residual ? ", with residual" : "");
    }

    private void requireBytes(DeviceBuffer b, long needed, String what) {
        if (b == null || b.bytes() < needed) {
            throw new IllegalArgumentException(name() + ": " + what + " needs " + needed + " bytes for "
                    + (what.equals("input") ? x.shape() : y.shape()) + ", got " + b);
        }
    }

    private static void closeAll(AutoCloseable... resources) {
        for (AutoCloseable r : resources) {
            if (r != null) {
                try {
                    r.close();
                } catch (Exception e) {
                    // closing after a failure: the first error is the one reported
                }
            }
        }
    }

    @Override
    public void close() {
        conv.close();
        y.close();
        x.close();
    }
}
