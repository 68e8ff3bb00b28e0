package dev.jresnet.graph;

import dev.jresnet.cpu.Blocked;
import dev.jresnet.cpu.CpuOps;
import dev.jresnet.cpu.DirectConv;
import dev.jresnet.cpu.FusedConv;
import dev.jresnet.cpu.PackedLinear;
import dev.jresnet.cpu.WeightSlab;
import dev.jresnet.cpu.MaxPool2d;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.MaxPool;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.lang.ref.SoftReference;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The fast CPU path: the network's {@link NetworkSpec#fused() fused} description, each convolution a
 * {@link DirectConv} on {@link Blocked} activations ([N, C/L, H+2, W+2, L]; the stem on its padded planar input) or,
 * where that does not apply or {@link CpuConvolution} says gemm, a {@link FusedConv} (im2col + GEMM on
 * [N, C, H, W]); weights packed once, here; batch norm, the residual add and ReLU applied as each output is stored;
 * max-pool on either layout ({@link MaxPool2d}); a value changes layout only where a step needs the other one, and
 * the result comes back as [N, C, H, W]. Bit for bit the {@link CpuReference}'s result either way (a NaN's payload
 * aside). The convolution weights are
 * packed when this is made and the other tensors are read as they are, so the network must not change while this is
 * in use (inference models never change theirs; a trainer runs the reference). Immutable and thread-safe.
 *
 * <p>The activations are not allocated pass after pass: each calling thread keeps one {@link ActivationArena} for
 * the last input shape it ran (a new shape replaces it), so a thread holds at most one pass's live activations
 * (ResNet-50 at 224x224, measured: 25.5 MB at batch 1, 204 MB at batch 8 with the direct convolution, 13.5 and 108
 * MB with gemm) until it ends or
 * runs another shape, softly: the garbage collector takes it back rather than run out of memory, and the next call
 * builds it again. The returned tensor is always new.
 */
public final class CpuInference implements CpuEngine {
    private final NetworkSpec spec;
    private final Map<String, Tensor> tensors;
    private final FusedConv[] convs;     // by step index of the fused description: im2col + GEMM on [N, C, H, W]
    private final DirectConv[] direct;   // likewise, where the direct convolution on blocked activations runs it
    private final PackedLinear[] linears; // likewise: the classifier, its weight packed once
    // Softly held between calls: a thread keeps its arena while memory allows, and the GC takes it back before it would
    // throw OutOfMemoryError (a 13000x1000 photo decoded beside a held batch-4 arena ran a 256 MB heap out).
    private final ThreadLocal<SoftReference<ActivationArena>> arenas = new ThreadLocal<>();
    private final CpuConvolution convolution;

    public CpuInference(Network net) {
        this(net, CpuConvolution.chosen());
    }

    /** With the convolution algorithm given rather than {@link CpuConvolution#chosen() chosen} (tests, the lab). */
    public CpuInference(Network net, CpuConvolution convolution) {
        this.spec = net.spec().fused();
        this.tensors = net.tensors();
        this.convolution = convolution;
        this.convs = new FusedConv[spec.steps().size()];
        this.direct = new DirectConv[spec.steps().size()];
        this.linears = new PackedLinear[spec.steps().size()];
        WeightSlab slab = convolution.isDirect() ? slabFor(convolution) : null;
        for (int i = 0; i < convs.length; i++) {
            if (spec.steps().get(i) instanceof ConvBn c) {
                Tensor w = tensors.get(c.weight());
                if (convolution.isDirect()
                        && DirectConv.supports(w, c.stride(), c.pad(), c.groups(), convolution.blocks())) {
                    DirectConv d = DirectConv.of(w, c.stride(), c.pad(), tensors.get(c.gamma()), tensors.get(c.beta()),
                            tensors.get(c.runningMean()), tensors.get(c.runningVar()), ConvBn.BN_EPS,
                            convolution.blocks(), convolution.pixels(), convolution.usesWinograd(), slab);
                    if (!d.planar() || c.residual() < 0) {  // a planar input takes no residual: GEMM runs that one
                        direct[i] = d;
                        continue;
                    }
                }
                convs[i] = FusedConv.of(w, c.stride(), c.pad(), c.groups(),
                        tensors.get(c.gamma()), tensors.get(c.beta()), tensors.get(c.runningMean()),
                        tensors.get(c.runningVar()), ConvBn.BN_EPS);
            } else if (spec.steps().get(i) instanceof Linear l) {
                linears[i] = PackedLinear.of(tensors.get(l.weight()), tensors.get(l.bias()));
            }
        }
    }

    /** One array for every direct layer's packed weights, so that each starts on a cache line (WeightSlab). */
    private WeightSlab slabFor(CpuConvolution convolution) {
        long floats = 0;
        int layers = 0;
        for (var step : spec.steps()) {
            if (step instanceof ConvBn c) {
                Tensor w = tensors.get(c.weight());
                if (DirectConv.supports(w, c.stride(), c.pad(), c.groups(), convolution.blocks())) {
                    floats += DirectConv.packedFloats(w, c.stride(), c.pad(), convolution.blocks(),
                            convolution.pixels(), convolution.usesWinograd());
                    layers++;
                }
            }
        }
        return WeightSlab.forFloats(floats, layers);
    }

    @Override
    public Tensor forward(Tensor x) {
        return run(x, spec.steps().size(), null);
    }

    /**
     * As {@link #forward(Tensor)}, telling {@code listener} each step's wall time (the kernel lab's profile). The
     * steps are those of the fused description ({@link #spec()}).
     */
    @Override
    public Tensor forward(Tensor x, StepListener listener) {
        return run(x, spec.steps().size(), listener);
    }

    @Override
    public Tensor features(Tensor x) {
        return run(x, spec.steps().size() - 1, null);
    }

    /**
     * The output of the fused description's steps [0, end) on x, a new tensor: with {@code end} the first step of a
     * stage of {@link #spec()} ({@code stages()}), the output of the stage before it (layer3: [N, 1024, H/16, W/16]
     * for resnet50). How features of an earlier stage are taken without running the rest.
     */
    @Override
    public Tensor forwardTo(Tensor x, int end) {
        if (end < 1 || end > spec.steps().size()) {
            throw new IllegalArgumentException(spec.name() + ": no step " + (end - 1) + " to stop after (steps 0.."
                    + (spec.steps().size() - 1) + ")");
        }
        return run(x, end, null);
    }

    /** The description this runs: the fused one, whose steps a {@link StepListener} is told of. */
    @Override
    public NetworkSpec spec() {
        return spec;
    }

    /** "CPU kernel vector-512bit-8x48, direct convolution, ...": jresnet's Java kernels. */
    @Override
    public String describe() {
        return kernels(convolution);
    }

    /** The Java kernels that run with {@code convolution}, as {@link #describe()} says them. */
    public static String kernels(CpuConvolution convolution) {
        return "CPU kernel " + dev.jresnet.cpu.Gemm.kernelName() + ", " + convolution.describe();
    }

    /** Nothing to free: the arenas are the garbage collector's. */
    @Override
    public void close() {}

    /** This thread's arena's size in bytes for the last shape it ran (0 if none): for tests and the README. */
    long arenaBytes() {
        ActivationArena a = arena();
        return a == null ? 0 : a.bytes();
    }

    private ActivationArena arena() {
        SoftReference<ActivationArena> ref = arenas.get();
        return ref == null ? null : ref.get();
    }

    private Tensor run(Tensor x, int end, StepListener listener) {
        CpuReference.requireInput(spec, x);
        ActivationArena arena = arena();
        if (arena == null || !arena.fits(x)) {
            arena = new ActivationArena(x.dim(0), x.dim(2), x.dim(3));
            arenas.set(new SoftReference<>(arena));
        }
        if (arena.busy) {  // a forward pass inside a listener on this thread: its own, throw-away arena
            arena = new ActivationArena(x.dim(0), x.dim(2), x.dim(3));
        }
        arena.busy = true;
        try {
            Walk walk = new Walk(arena, end);
            walk.listener = listener;
            Tensor y = walk.run(x, 0, end);
            if (!Blocked.is(y)) {
                return y;
            }
            Tensor plain = Tensor.zeros(Blocked.logical(y));  // a cut inside the blocked layers: the caller's layout
            Blocked.toNchw(plain, y);
            return plain;
        } finally {
            arena.busy = false;
        }
    }

    /** The fused convolution: packed weights, batch norm, residual and ReLU in the GEMM's store. */
    private final class Walk extends CpuWalk {
        private final ActivationArena arena;
        private final int end;
        /** The tensors this pass took from the arena: only those go back (never the caller's input). */
        private final Set<Tensor> taken = Collections.newSetFromMap(new IdentityHashMap<>());

        Walk(ActivationArena arena, int end) {
            super(CpuInference.this.spec, CpuInference.this.tensors);
            this.arena = arena;
            this.end = end;
        }

        @Override
        Tensor output(Shape shape) {
            if (reuse != null) {
                return reuse;  // a step run again for its warm time (StepListener.warmRepeats): its own output
            }
            if (step == end - 1) {
                return Tensor.zeros(shape);  // the caller's result: never reused
            }
            Tensor t = arena.take(shape);
            taken.add(t);
            return t;
        }

        @Override
        void release(Tensor t) {
            if (taken.remove(t)) {
                arena.give(t);
            }
        }

        @Override
        public void convBn(ConvBn s) {
            DirectConv d = direct[step];
            Tensor x = values[s.in()], r = s.residual() < 0 ? null : values[s.residual()];
            int n = x.dim(0), k = s.outChannels();
            Shape in = logical(x);
            int p = s.outSize(in.dim(2)), q = s.outSize(in.dim(3));
            Tensor y = output(d == null ? Shape.of(n, k, p, q) : Blocked.shape(n, k, p, q, DirectConv.lanes()));
            if (d != null && d.planar()) {  // the stem: its planar input, padded
                Tensor xl = unblocked(x), padded = arena.take(d.paddedShape(xl.shape()));
                values[s.out()] = d.forwardPlanar(y, xl, padded, s.relu());
                arena.give(padded);
                giveBack(xl, x);
                return;
            }
            Tensor xl = d == null ? unblocked(x) : blocked(x);
            Tensor rl = r == null ? null : d == null ? unblocked(r) : blocked(r);
            values[s.out()] = d == null ? convs[step].forward(y, xl, rl, s.relu()) : d.forward(y, xl, rl, s.relu());
            giveBack(xl, x);
            giveBack(rl, r);
        }

        /** t in the blocked layout: itself, or a copy from the arena (given back after the step). */
        private Tensor blocked(Tensor t) {
            if (Blocked.is(t)) {
                return t;
            }
            Tensor b = arena.take(Blocked.shape(t.dim(0), t.dim(1), t.dim(2), t.dim(3), DirectConv.lanes()));
            Blocked.fromNchw(b, t);
            return b;
        }

        /** t as [N, C, H, W]: itself, or a copy from the arena (given back after the step). */
        private Tensor unblocked(Tensor t) {
            if (!Blocked.is(t)) {
                return t;
            }
            Tensor plain = arena.take(Blocked.logical(t));
            Blocked.toNchw(plain, t);
            return plain;
        }

        private void giveBack(Tensor copy, Tensor original) {
            if (copy != null && copy != original) {
                arena.give(copy);
            }
        }

        @Override
        void maxPool(Tensor y, Tensor x, MaxPool s) {
            if (Blocked.is(x)) {
                MaxPool2d.forwardBlocked(y, x, s.kernel(), s.stride(), s.pad());
            } else {
                MaxPool2d.forward(y, x, s.kernel(), s.stride(), s.pad());
            }
        }

        @Override
        void globalAvgPool(Tensor y, Tensor x) {
            if (Blocked.is(x)) {
                Blocked.globalAvgPool(y, x);
            } else {
                CpuOps.globalAvgPool(y, x);
            }
        }

        @Override
        void linear(Tensor y, Tensor x, Linear s) {
            linears[step].forward(y, x);
        }

    }
}
