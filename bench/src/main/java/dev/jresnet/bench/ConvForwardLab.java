package dev.jresnet.bench;

import dev.jresnet.cuda.ConvAlgorithms;
import dev.jresnet.cuda.ConvolutionDescriptor;
import dev.jresnet.cuda.CudaAvailability;
import dev.jresnet.cuda.CudaContext;
import dev.jresnet.cuda.CudaDevice;
import dev.jresnet.cuda.CudaException;
import dev.jresnet.cuda.CudaPrecision;
import dev.jresnet.cuda.CudaResNet;
import dev.jresnet.cuda.CudaResource;
import dev.jresnet.cuda.Cudnn;
import dev.jresnet.cuda.CudnnHandle;
import dev.jresnet.cuda.DeviceBuffer;
import dev.jresnet.cuda.DeviceMemory;
import dev.jresnet.cuda.ElementType;
import dev.jresnet.cuda.Event;
import dev.jresnet.cuda.FilterDescriptor;
import dev.jresnet.cuda.GpuOps;
import dev.jresnet.cuda.HalfLayouts;
import dev.jresnet.cuda.Layout;
import dev.jresnet.cuda.Stream;
import dev.jresnet.cuda.TensorDescriptor;
import dev.jresnet.cuda.Workspace;
import dev.jresnet.tensor.Precision;
import org.bytedeco.javacpp.FloatPointer;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * Every cuDNN forward convolution algorithm ({@code CUDNN_CONVOLUTION_FWD_ALGO_*}, 0..7) on one problem, for
 * the kernel lab ({@code jresnet bench --layers --device cuda}): the workspace each needs
 * ({@code cudnnGetConvolutionForwardWorkspaceSize}), its output (for validation against the CPU reference), its
 * time measured with CUDA events, and the algorithm the engine itself would pick
 * ({@link ConvAlgorithms}, heuristics, the engine's default workspace limit) for the same
 * shape, precision and batch.
 *
 * <p>The problem's tensors follow the engine's {@link Precision} ({@link CudaPrecision}): NCHW fp32 with FMA math (FP32), NCHW
 * fp32 with tensor-op math (TF32), NHWC fp16 with tensor-op math and fp32 accumulation (FP16). Inputs and outputs
 * cross as NCHW fp32 arrays; fp16 is converted on the host (round to nearest even).
 *
 * <p>What is timed is {@code cudnnConvolutionForward} alone (alpha 1, beta 0): the engine's forward pass fuses
 * bias and ReLU into {@code cudnnConvolutionBiasActivationForward} with the same algorithm.
 *
 * <p>One lab per thread; it owns a stream, a cuDNN handle, a grow-only workspace and a pool of events. Create it
 * only where {@link CudaAvailability#backendStatus()} is usable.
 */
// cuDNN 9 marks the descriptor API deprecated (the graph API replaces it) but ships and supports it.
@SuppressWarnings("deprecation")
public final class ConvForwardLab implements AutoCloseable {
    /** The forward algorithms' names, by {@code cudnnConvolutionFwdAlgo_t} value (compile-time constants). */
    private static final String[] NAMES = new String[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];

    static {
        NAMES[CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM] = "IMPLICIT_GEMM";
        NAMES[CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM] = "IMPLICIT_PRECOMP_GEMM";
        NAMES[CUDNN_CONVOLUTION_FWD_ALGO_GEMM] = "GEMM";
        NAMES[CUDNN_CONVOLUTION_FWD_ALGO_DIRECT] = "DIRECT";
        NAMES[CUDNN_CONVOLUTION_FWD_ALGO_FFT] = "FFT";
        NAMES[CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING] = "FFT_TILING";
        NAMES[CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD] = "WINOGRAD";
        NAMES[CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED] = "WINOGRAD_NONFUSED";
    }

    /** Number of forward algorithms (8 in cuDNN 9). */
    public static final int ALGORITHMS = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;

    /**
     * Input channels as the engine stores them: fp16 pads the image's 3 to 8 with zeros ({@link
     * CudaPrecision#inputChannels}), so the stem is measured as the engine runs it; the CPU check is unchanged, the
     * extra channels being zero in both input and filter.
     */
    static int storedChannels(Precision precision, Shape s) {
        return CudaPrecision.of(precision).inputChannels(s.c(), s.groups());
    }

    /** The algorithm's name without the prefix, e.g. "IMPLICIT_PRECOMP_GEMM" for 1. */
    public static String algorithmName(int algo) {
        return algo >= 0 && algo < NAMES.length ? NAMES[algo] : "ALGO_" + algo;
    }

    /** The algorithm of a name as {@link #algorithmName} gives it (case-insensitive), or its number 0..7. */
    public static int algorithm(String name) {
        for (int a = 0; a < NAMES.length; a++) {
            if (NAMES[a].equalsIgnoreCase(name) || String.valueOf(a).equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown cuDNN forward algorithm \"" + name + "\" (expected one of "
                + String.join(", ", NAMES) + ", or 0.." + (NAMES.length - 1) + ")");
    }

    /** A convolution problem: batch n, c x h x w input, k filters of r x r, square stride and padding, groups. */
    public record Shape(int n, int c, int h, int w, int k, int r, int stride, int pad, int groups) {
        public int p() {
            return (h + 2 * pad - r) / stride + 1;
        }

        public int q() {
            return (w + 2 * pad - r) / stride + 1;
        }

        long inputElements() {
            return (long) n * c * h * w;
        }

        long filterElements() {
            return (long) k * (c / groups) * r * r;
        }

        long outputElements() {
            return (long) n * k * p() * q();
        }
    }

    /** A workspace query: the bytes, or the cuDNN status that says the algorithm does not apply. */
    public record WorkspaceQuery(int algo, boolean supported, long bytes, String status) {}

    private final CudaContext cuda;
    private final Stream stream;
    private final CudnnHandle handle;
    private final Workspace workspace;
    private final ConvAlgorithms engine;
    private final List<Event> events = new ArrayList<>();

    private ConvForwardLab(CudaContext cuda, Stream stream, CudnnHandle handle, Workspace workspace,
                           ConvAlgorithms engine) {
        this.cuda = cuda;
        this.stream = stream;
        this.handle = handle;
        this.workspace = workspace;
        this.engine = engine;
    }

    /**
     * Opens device {@code ordinal}. The engine's choice is computed as {@link CudaResNet} computes it by default:
     * heuristics and {@link CudaResNet.Options#defaults()}'s workspace limit.
     */
    public static ConvForwardLab open(int ordinal) {
        CudaAvailability.Status s = CudaAvailability.backendStatus();
        if (!s.usable()) {
            throw new IllegalStateException("CUDA is unusable (" + s.reason() + ")");
        }
        CudaContext cuda = CudaContext.open(ordinal);
        Stream stream = null;
        CudnnHandle handle = null;
        try {
            stream = Stream.create();
            handle = CudnnHandle.create(stream);
            Workspace ws = new Workspace(stream, "kernel lab");
            CudaResNet.Options d = CudaResNet.Options.defaults();
            return new ConvForwardLab(cuda, stream, handle, ws, new ConvAlgorithms(d.search(), d.workspaceLimit()));
        } catch (RuntimeException | Error e) {
            if (handle != null) {
                handle.close();
            }
            if (stream != null) {
                stream.close();
            }
            cuda.close();
            throw e;
        }
    }

    public CudaDevice device() {
        return cuda.device();
    }

    /** The engine's workspace limit, in bytes, which its choice respects. */
    public long engineWorkspaceLimit() {
        return engine.workspaceLimit();
    }

    /**
     * Uploads {@code input} ([n][c][h][w] fp32) and {@code weight} ([k][c][r][r] fp32) in {@code precision}'s
     * layout and element type, and allocates the output.
     */
    public Problem prepare(Precision precision, Shape shape, float[] input, float[] weight) {
        cuda.makeCurrent();
        return new Problem(precision, shape, input, weight);
    }

    /**
     * The algorithm the engine picks for {@code shape} in {@code precision} ({@link ConvAlgorithms#choose},
     * heuristics, with the engine's descriptors; no GPU work); throws {@link CudaException} when none is usable.
     */
    public ConvAlgorithms.Choice engineChoice(Precision precision, Shape shape) {
        return engineChoiceOf(precision, shape);
    }

    private ConvAlgorithms.Choice engineChoiceOf(Precision precision, Shape shape) {
        cuda.makeCurrent();
        try (Descriptors d = new Descriptors(precision, shape)) {
            return d.engineChoice();
        }
    }

    /** The tensor, filter and convolution descriptors of a problem, as the engine makes them for a layer. */
    private final class Descriptors implements AutoCloseable {
        final Precision precision;
        final Shape shape;
        TensorDescriptor x;
        TensorDescriptor y;
        FilterDescriptor f;
        ConvolutionDescriptor conv;

        Descriptors(Precision precision, Shape s) {
            this.precision = precision;
            this.shape = s;
            try {
                CudaPrecision cp = CudaPrecision.of(precision);
                Layout l = cp.layout();
                ElementType e = cp.element();
                int c = storedChannels(precision, s);
                x = TensorDescriptor.create(l, e, s.n(), c, s.h(), s.w());
                f = FilterDescriptor.create(l, e, s.k(), c / s.groups(), s.r(), s.r());
                conv = ConvolutionDescriptor.create(s.pad(), s.pad(), s.stride(), s.stride(), 1, 1, ElementType.FP32,
                        cp.convMath(), s.groups());
                int[] out = conv.outputDim(x, f);
                if (out[0] != s.n() || out[1] != s.k() || out[2] != s.p() || out[3] != s.q()) {
                    throw new IllegalStateException("cuDNN output " + java.util.Arrays.toString(out) + " != ["
                            + s.n() + ", " + s.k() + ", " + s.p() + ", " + s.q() + "] for " + s);
                }
                y = TensorDescriptor.create(l, e, s.n(), s.k(), s.p(), s.q());
            } catch (RuntimeException | Error ex) {
                close();
                throw ex;
            }
        }

        ConvAlgorithms.Choice engineChoice() {
            ConvAlgorithms.Key key = new ConvAlgorithms.Key(precision, shape.n(), storedChannels(precision, shape),
                    shape.h(), shape.w(),
                    shape.k(), shape.r(), shape.r(), shape.stride(), shape.pad(), shape.groups());
            return engine.choose(ConvAlgorithms.Direction.FORWARD, key, handle, x, f, conv, y, null);
        }

        @Override
        public void close() {
            for (CudaResource r : new CudaResource[] {y, conv, f, x}) {
                if (r != null) {
                    try {
                        r.close();
                    } catch (RuntimeException e) {
                        // best effort while closing
                    }
                }
            }
        }
    }

    /** One convolution with descriptors and device buffers; close it before the lab. */
    public final class Problem implements AutoCloseable {
        private final Precision precision;
        private final Shape shape;
        private final List<AutoCloseable> owned = new ArrayList<>();
        private final TensorDescriptor x;
        private final TensorDescriptor y;
        private final FilterDescriptor f;
        private final ConvolutionDescriptor conv;
        private final DeviceMemory xMem;
        private final DeviceMemory wMem;
        private final DeviceMemory yMem;
        private final FloatPointer one;
        private final FloatPointer zero;

        private Problem(Precision precision, Shape s, float[] input, float[] weight) {
            if (input.length != s.inputElements() || weight.length != s.filterElements()) {
                throw new IllegalArgumentException("input of " + input.length + " and weight of " + weight.length
                        + " values do not fit " + s);
            }
            this.precision = precision;
            this.shape = s;
            try {
                Descriptors d = own(new Descriptors(precision, s));
                x = d.x;
                f = d.f;
                conv = d.conv;
                y = d.y;
                xMem = own(DeviceMemory.allocate(x.bytes(), "kernel lab input " + x.shape()));
                wMem = own(DeviceMemory.allocate(f.bytes(), "kernel lab filter " + f.shape()));
                yMem = own(DeviceMemory.allocate(y.bytes(), "kernel lab output " + y.shape()));
                one = own(new FloatPointer(1).put(1f));
                zero = own(new FloatPointer(1).put(0f));
                if (CudaPrecision.of(precision).element() == ElementType.FP16) {
                    int c = storedChannels(precision, s);
                    xMem.buffer().upload(stream, HalfLayouts.nchwToNhwcHalf(input, s.n(), s.c(), s.h(), s.w(), c));
                    wMem.buffer().upload(stream, HalfLayouts.nchwToNhwcHalf(weight, s.k(), s.c() / s.groups(), s.r(),
                            s.r(), c / s.groups()));
                } else {
                    xMem.buffer().upload(stream, input);
                    wMem.buffer().upload(stream, weight);
                }
            } catch (RuntimeException | Error ex) {
                close();
                throw ex;
            }
        }

        private <T extends AutoCloseable> T own(T r) {
            owned.add(r);
            return r;
        }

        public Shape shape() {
            return shape;
        }

        public Precision precision() {
            return precision;
        }

        /** {@code cudnnGetConvolutionForwardWorkspaceSize}: a status other than success means "not supported". */
        public WorkspaceQuery workspace(int algo) {
            try (org.bytedeco.javacpp.SizeTPointer size = new org.bytedeco.javacpp.SizeTPointer(1)) {
                int status = cudnnGetConvolutionForwardWorkspaceSize(handle.handle(), x.handle(), f.handle(),
                        conv.handle(), y.handle(), algo, size);
                return status == CUDNN_STATUS_SUCCESS ? new WorkspaceQuery(algo, true, size.get(), "ok")
                        : new WorkspaceQuery(algo, false, -1, Cudnn.errorString(status));
            }
        }

        /** Queues one {@code cudnnConvolutionForward} with {@code algo}; returns the cuDNN status (not checked). */
        private int enqueue(int algo, DeviceBuffer ws) {
            return cudnnConvolutionForward(handle.handle(), one, x.handle(), xMem.buffer().pointer(), f.handle(),
                    wMem.buffer().pointer(), conv.handle(), algo, ws.pointer(), ws.bytes(), zero, y.handle(),
                    yMem.buffer().pointer());
        }

        /**
         * Runs {@code algo} once on an output filled with NaN (so an algorithm that writes nothing cannot pass) and
         * returns the output as NCHW fp32; throws {@link CudaException} with cuDNN's status when the call fails.
         */
        public float[] run(int algo, long workspaceBytes) {
            cuda.makeCurrent();
            DeviceBuffer ws = workspaceFor(workspaceBytes);
            yMem.buffer().fill(stream, 0xFF); // all-ones bits: NaN in fp32 and in fp16
            Cudnn.check(enqueue(algo, ws), "cudnnConvolutionForward", algorithmName(algo), x.shape(), f.shape(),
                    conv.params(), "workspace " + workspaceBytes);
            stream.synchronize();
            long n = shape.outputElements();
            if (CudaPrecision.of(precision).element() == ElementType.FP16) {
                short[] h = new short[Math.toIntExact(n)];
                yMem.buffer().download(stream, h);
                float[] out = new float[h.length];
                HalfLayouts.nhwcHalfToNchw(h, out, shape.n(), shape.k(), shape.p(), shape.q());
                return out;
            }
            float[] out = new float[Math.toIntExact(n)];
            yMem.buffer().download(stream, out);
            return out;
        }

        /**
         * Queues one {@code cudnnConvolutionForward} with {@code algo} and waits for it (for JMH, which times on
         * the host): no fill, no download. Throws {@link CudaException} with cuDNN's status when the call fails.
         */
        public void forward(int algo, long workspaceBytes) {
            DeviceBuffer ws = workspaceFor(workspaceBytes);
            Cudnn.check(enqueue(algo, ws), "cudnnConvolutionForward", algorithmName(algo), x.shape(), f.shape(),
                    conv.params());
            stream.synchronize();
        }

        /** The engine's pick for this problem (see {@link ConvForwardLab#engineChoice}). */
        public ConvAlgorithms.Choice engineChoice() {
            return engineChoiceOf(precision, shape);
        }

        /**
         * Times {@code algo}: {@code warmup} untimed runs, then {@code runs} runs, each between two CUDA events
         * recorded on the lab's stream, queued back to back without waiting (so that the GPU, not the host's launch
         * overhead, is measured), then waited for once. Returns the seconds of each timed run.
         */
        public double[] time(int algo, long workspaceBytes, int warmup, int runs) {
            if (runs < 1) {
                throw new IllegalArgumentException("runs must be >= 1, got " + runs);
            }
            cuda.makeCurrent();
            DeviceBuffer ws = workspaceFor(workspaceBytes);
            ensureEvents(2 * runs);
            for (int i = 0; i < warmup; i++) {
                Cudnn.check(enqueue(algo, ws), "cudnnConvolutionForward", "warm-up", algorithmName(algo));
            }
            for (int i = 0; i < runs; i++) {
                events.get(2 * i).record(stream);
                Cudnn.check(enqueue(algo, ws), "cudnnConvolutionForward", "timed", algorithmName(algo));
                events.get(2 * i + 1).record(stream);
            }
            double[] s = new double[runs];
            for (int i = 0; i < runs; i++) {
                s[i] = events.get(2 * i + 1).elapsedMillisSince(events.get(2 * i)) / 1e3;
            }
            return s;
        }

        private DeviceBuffer workspaceFor(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("no workspace size for an unsupported algorithm");
            }
            DeviceBuffer ws = workspace.ensure(bytes);
            return bytes == 0 ? ws : ws.slice(0, bytes);
        }

        @Override
        public void close() {
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (Exception e) {
                    // best effort: the first failure is the one already thrown, if any
                }
            }
            owned.clear();
        }
    }

    private void ensureEvents(int count) {
        while (events.size() < count) {
            events.add(Event.create());
        }
    }

    /** True when {@code e} is cuDNN saying that an algorithm does not apply (a BAD_PARAM or NOT_SUPPORTED status). */
    public static boolean isUnsupported(CudaException e) {
        return e.library() == CudaException.Library.CUDNN && GpuOps.isUnsupported(e.status());
    }

    @Override
    public void close() {
        RuntimeException first = null;
        List<AutoCloseable> all = new ArrayList<>(events);
        all.add(workspace);
        all.add(handle);
        all.add(stream);
        all.add(cuda);
        for (AutoCloseable c : all) {
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                }
            }
        }
        events.clear();
        if (first != null) {
            throw first;
        }
    }
}
