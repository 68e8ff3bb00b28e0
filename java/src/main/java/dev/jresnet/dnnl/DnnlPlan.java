package dev.jresnet.dnnl;

import dev.jresnet.graph.BnFolding;
import dev.jresnet.nn.AddRelu;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.Dims;
import dev.jresnet.nn.GlobalAvgPool;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.MaxPool;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.nn.Step;
import dev.jresnet.nn.StepVisitor;
import dev.jresnet.graph.StepListener;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * Steps [0, end) of a fused description planned for one input shape [N, C, H, W], one oneDNN primitive per step:
 * <ul>
 * <li>ConvBn: a convolution with batch norm folded into its weights and bias ({@link BnFolding}); ReLU a post-op; the
 * residual a {@code sum} post-op when this convolution is the residual's last reader (it then writes into the
 * residual's buffer: ResNet's blocks, both identity and downsample shortcuts), else a {@code binary add} post-op;</li>
 * <li>MaxPool and GlobalAvgPool: pooling (the average into [N, C, 1, 1] plain, which the classifier reads as
 * [N, C]); AddRelu: binary add with a ReLU post-op; Linear: inner product.</li>
 * </ul>
 * Each activation is in the layout its producer chose ({@code format_tag_any}: nhwc on AVX-512), a reorder inserted
 * where a reader wants another (the network's input, the output). Activations live in a few native buffers, one
 * reused once its value's last reader has run, so that the pass stays in cache where it can. Not thread-safe: its
 * owner runs one pass at a time.
 */
final class DnnlPlan implements AutoCloseable {
    /** One primitive and its arguments, executed in order; {@code step}: the step of the description it serves. */
    private record Exec(dnnl_primitive primitive, dnnl_exec_arg_t args, int count, String what, int step) {}

    /** A value of the pass: its memory (on one of the buffers) and its descriptor. */
    private record Value(dnnl_memory memory, dnnl_memory_desc md, NativeBuffer buffer) {}

    private final dnnl_engine engine;
    private final NetworkSpec spec;
    private final Map<String, Tensor> tensors;
    private final DnnlConstants constants;
    private final dnnl_stream stream;
    private final int n;
    private final List<Dims> dims;
    private final NativeScope scope = new NativeScope();
    private final List<Exec> execs = new ArrayList<>();
    private final List<String> implementations = new ArrayList<>();
    private final TreeMap<Long, List<NativeBuffer>> free = new TreeMap<>();  // by size: buffers no value holds now
    private final Value[] values;
    private final Value input;
    private final Value output;
    private final int[] outputShape;
    private long activationBytes;
    private int step;  // the step being planned
    private final int end;
    private final boolean[] inPlace;  // by step: adds into its residual's buffer, so it cannot run twice

    DnnlPlan(NetworkSpec spec, Map<String, Tensor> tensors, DnnlConstants constants, int n, int h, int w, int end,
             dnnl_stream stream) {
        this.engine = Dnnl.engine();
        this.spec = spec;
        this.tensors = tensors;
        this.constants = constants;
        this.stream = stream;
        this.n = n;
        this.dims = spec.shapes(h, w);
        this.values = new Value[spec.valueCount()];
        this.end = end;
        this.inPlace = new boolean[end];
        try {
            input = newValue(md(dnnl_nchw, n, spec.inputChannels(), h, w), "the input");
            values[0] = input;
            Planner planner = new Planner();
            for (step = 0; step < end; step++) {
                Step s = spec.steps().get(step);
                s.accept(planner);
                for (int v : s.inputs()) {
                    if (v != 0 && spec.lastUse(v) == step && values[v].buffer != values[s.out()].buffer) {
                        release(values[v]);
                    }
                }
            }
            int last = spec.steps().get(end - 1).out();
            Dims d = dims.get(last);
            outputShape = d.withBatch(n);
            output = inLayout(values[last], d.spatial() ? md(dnnl_nchw, n, d.c(), d.h(), d.w()) : md(dnnl_nc, n, d.c()),
                    "the output");
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** What oneDNN chose for each primitive, in order, after what it computes (for the kernel lab and tests). */
    List<String> implementations() {
        return implementations;
    }

    /** Native bytes of this plan's activation buffers (the weights are the constants'). */
    long activationBytes() {
        return activationBytes;
    }

    /** Runs the pass on x [N, C, H, W] (plain floats) and returns the last step's output as a new tensor. */
    Tensor run(Tensor x) {
        input.buffer.floats.put(x.data(), 0, x.size());
        for (Exec e : execs) {
            execute(e);
        }
        Dnnl.check(dnnl_stream_wait(stream), "dnnl_stream_wait", spec.name());
        return result();
    }

    /**
     * As {@link #run(Tensor)}, telling {@code listener} each step's wall time (a step's reorders counted in it; the
     * output's reorder in the last step). Warm repeats run every step that does not add into its residual's buffer in
     * place (run twice, that one would add the residual twice); those report no warm time.
     */
    Tensor run(Tensor x, StepListener listener) {
        input.buffer.floats.put(x.data(), 0, x.size());
        int next = 0;
        for (int i = 0; i < end; i++) {
            int first = next;
            long t0 = System.nanoTime();
            while (next < execs.size() && (execs.get(next).step == i || i == end - 1)) {
                execute(execs.get(next++));
            }
            Dnnl.check(dnnl_stream_wait(stream), "dnnl_stream_wait", spec.name());
            long nanos = System.nanoTime() - t0;
            Step s = spec.steps().get(i);
            listener.stepDone(i, s, shape(s.inputs()[0]), shape(s.out()), nanos);
            int repeats = listener.warmRepeats();
            if (repeats > 0 && !inPlace[i]) {
                int from = first, to = next;
                listener.stepWarm(i, StepListener.medianNanos(repeats, () -> {
                    for (int k = from; k < to; k++) {
                        execute(execs.get(k));
                    }
                    Dnnl.check(dnnl_stream_wait(stream), "dnnl_stream_wait", spec.name());
                }));
            }
        }
        return result();
    }

    private void execute(Exec e) {
        Dnnl.check(dnnl_primitive_execute(e.primitive, stream, e.count, e.args), "dnnl_primitive_execute", e.what);
    }

    private Tensor result() {
        Tensor y = Tensor.zeros(outputShape);
        output.buffer.floats.get(y.data(), 0, y.size());
        return y;
    }

    /** Value v's logical shape, [N, C, H, W] or [N, C]. */
    private Shape shape(int v) {
        return Shape.of(dims.get(v).withBatch(n));
    }

    private final class Planner implements StepVisitor {
        @Override
        public void convBn(ConvBn c) {
            Dims x = dims.get(c.in()), y = dims.get(c.out());
            String what = c.conv() + " " + c.kernel() + "x" + c.kernel() + "/" + c.stride() + " [" + n + ", " + x.c()
                    + ", " + x.h() + ", " + x.w() + "] -> [" + n + ", " + y.c() + ", " + y.h() + ", " + y.w() + "]";
            int g = c.groups();
            long[] weightDims = g == 1 ? new long[] {c.outChannels(), c.groupChannels(), c.kernel(), c.kernel()}
                    : new long[] {g, c.outChannels() / g, c.groupChannels(), c.kernel(), c.kernel()};
            Value residual = c.residual() >= 0 ? values[c.residual()] : null;
            boolean inPlace = residual != null && residual != input && c.residual() != c.in()
                    && spec.lastUse(c.residual()) == step;
            // With a residual the output takes the residual's layout (the sum post-op adds it where it lies).
            dnnl_memory_desc dstMd = residual != null ? residual.md : md(dnnl_format_tag_any, n, y.c(), y.h(), y.w());
            long[] padR = {padRight(x.h(), y.h(), c.kernel(), c.stride(), c.pad()),
                    padRight(x.w(), y.w(), c.kernel(), c.stride(), c.pad())};
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            Dnnl.check(dnnl_convolution_forward_primitive_desc_create(pd, engine, dnnl_forward_inference,
                    dnnl_convolution_direct, md(dnnl_format_tag_any, n, x.c(), x.h(), x.w()),
                    md(dnnl_format_tag_any, weightDims), md(dnnl_a, c.outChannels()), dstMd,
                    new long[] {c.stride(), c.stride()}, new long[2], new long[] {c.pad(), c.pad()}, padR,
                    postOps(inPlace ? Residual.SUM : residual != null ? Residual.BINARY : Residual.NONE, residual,
                            c.relu(), what)),
                    "dnnl_convolution_forward_primitive_desc_create", what);
            scope.owns(pd, () -> dnnl_primitive_desc_destroy(pd));
            Value src = inLayout(values[c.in()], dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), what);
            BnFolding.Folded[] folded = new BnFolding.Folded[1];  // folded once, only if a layout is new
            dnnl_memory weights = constants.get(c.weight(), () -> fold(folded, c).weight(),
                    md(g == 1 ? dnnl_oihw : dnnl_goihw, weightDims),
                    dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), stream);
            dnnl_memory bias = constants.get(c.bn() + " (folded bias)", () -> fold(folded, c).bias(),
                    md(dnnl_a, c.outChannels()), dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1), stream);
            Value dst = inPlace ? residual
                    : newValue(owned(Dnnl.cloneOf(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0))), what);
            values[c.out()] = dst;
            DnnlPlan.this.inPlace[step] = inPlace;
            if (residual != null && !inPlace) {
                add(pd, what, DNNL_ARG_SRC, src.memory, DNNL_ARG_WEIGHTS, weights, DNNL_ARG_BIAS, bias,
                        DNNL_ARG_DST, dst.memory, DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE | DNNL_ARG_SRC_1, residual.memory);
            } else {
                add(pd, what, DNNL_ARG_SRC, src.memory, DNNL_ARG_WEIGHTS, weights, DNNL_ARG_BIAS, bias,
                        DNNL_ARG_DST, dst.memory);
            }
            if (src != values[c.in()]) {
                release(src);
            }
        }

        @Override
        public void addRelu(AddRelu a) {
            Dims x = dims.get(a.a());
            String what = "add + relu of values " + a.a() + " and " + a.b() + " [" + n + ", " + x.c() + ", " + x.h()
                    + ", " + x.w() + "]";
            Value left = values[a.a()], right = values[a.b()];
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            Dnnl.check(dnnl_binary_primitive_desc_create(pd, engine, dnnl_binary_add, left.md, right.md, left.md,
                    postOps(Residual.NONE, null, true, what)), "dnnl_binary_primitive_desc_create", what);
            scope.owns(pd, () -> dnnl_primitive_desc_destroy(pd));
            Value dst = newValue(owned(Dnnl.cloneOf(left.md)), what);
            values[a.out()] = dst;
            add(pd, what, DNNL_ARG_SRC_0, left.memory, DNNL_ARG_SRC_1, right.memory, DNNL_ARG_DST, dst.memory);
        }

        @Override
        public void maxPool(MaxPool m) {
            Dims x = dims.get(m.in()), y = dims.get(m.out());
            String what = "max pool " + m.kernel() + "x" + m.kernel() + "/" + m.stride() + " [" + n + ", " + x.c()
                    + ", " + x.h() + ", " + x.w() + "]";
            Value src = values[m.in()];
            long[] padR = {padRight(x.h(), y.h(), m.kernel(), m.stride(), m.pad()),
                    padRight(x.w(), y.w(), m.kernel(), m.stride(), m.pad())};
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            Dnnl.check(dnnl_pooling_forward_primitive_desc_create(pd, engine, dnnl_forward_inference, dnnl_pooling_max,
                    src.md, md(dnnl_format_tag_any, n, y.c(), y.h(), y.w()), new long[] {m.stride(), m.stride()},
                    new long[] {m.kernel(), m.kernel()}, new long[2], new long[] {m.pad(), m.pad()}, padR, null),
                    "dnnl_pooling_forward_primitive_desc_create", what);
            scope.owns(pd, () -> dnnl_primitive_desc_destroy(pd));
            Value dst = newValue(owned(Dnnl.cloneOf(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0))), what);
            values[m.out()] = dst;
            add(pd, what, DNNL_ARG_SRC, src.memory, DNNL_ARG_DST, dst.memory);
        }

        @Override
        public void globalAvgPool(GlobalAvgPool p) {
            Dims x = dims.get(p.in());
            String what = "global average pool [" + n + ", " + x.c() + ", " + x.h() + ", " + x.w() + "]";
            Value src = values[p.in()];
            dnnl_memory_desc dstMd = md(dnnl_nchw, n, x.c(), 1, 1);
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            Dnnl.check(dnnl_pooling_forward_primitive_desc_create(pd, engine, dnnl_forward_inference,
                    dnnl_pooling_avg_exclude_padding, src.md, dstMd, new long[] {1, 1}, new long[] {x.h(), x.w()},
                    new long[2], new long[2], new long[2], null), "dnnl_pooling_forward_primitive_desc_create", what);
            scope.owns(pd, () -> dnnl_primitive_desc_destroy(pd));
            Value pooled = newValue(dstMd, what);
            // [N, C, 1, 1] plain is [N, C]: the classifier reads the same buffer.
            dnnl_memory_desc vector = md(dnnl_nc, n, x.c());
            values[p.out()] = new Value(memoryOn(vector, pooled.buffer, what), vector, pooled.buffer);
            add(pd, what, DNNL_ARG_SRC, src.memory, DNNL_ARG_DST, pooled.memory);
        }

        @Override
        public void linear(Linear l) {
            String what = l.name() + " [" + n + ", " + l.inFeatures() + "] -> [" + n + ", " + l.outFeatures() + "]";
            if (spec.spatial(l.in())) {
                throw new DnnlException(what + ": oneDNN's plan takes a classifier only after global average pooling");
            }
            Value src = values[l.in()];
            dnnl_memory_desc dstMd = md(dnnl_nc, n, l.outFeatures());
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            Dnnl.check(dnnl_inner_product_forward_primitive_desc_create(pd, engine, dnnl_forward_inference, src.md,
                    md(dnnl_format_tag_any, l.outFeatures(), l.inFeatures()), md(dnnl_a, l.outFeatures()), dstMd, null),
                    "dnnl_inner_product_forward_primitive_desc_create", what);
            scope.owns(pd, () -> dnnl_primitive_desc_destroy(pd));
            dnnl_memory weights = constants.get(l.weight(), () -> tensors.get(l.weight()).data(),
                    md(dnnl_oi, l.outFeatures(), l.inFeatures()),
                    dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), stream);
            dnnl_memory bias = constants.get(l.bias(), () -> tensors.get(l.bias()).data(), md(dnnl_a, l.outFeatures()),
                    dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1), stream);
            Value dst = newValue(dstMd, what);
            values[l.out()] = dst;
            add(pd, what, DNNL_ARG_SRC, src.memory, DNNL_ARG_WEIGHTS, weights, DNNL_ARG_BIAS, bias, DNNL_ARG_DST,
                    dst.memory);
        }

        private BnFolding.Folded fold(BnFolding.Folded[] once, ConvBn c) {
            if (once[0] == null) {
                once[0] = BnFolding.fold(c, tensors);
            }
            return once[0];
        }
    }

    private enum Residual { NONE, SUM, BINARY }

    /** The post-ops: the residual (summed into the output in place, or added from its own buffer), then ReLU. */
    private dnnl_primitive_attr postOps(Residual kind, Value residual, boolean relu, String what) {
        dnnl_post_ops ops = new dnnl_post_ops();
        Dnnl.check(dnnl_post_ops_create(ops), "dnnl_post_ops_create", what);
        scope.owns(ops, () -> dnnl_post_ops_destroy(ops));
        if (kind == Residual.SUM) {
            Dnnl.check(dnnl_post_ops_append_sum(ops, 1f, 0, dnnl_data_type_undef), "dnnl_post_ops_append_sum", what);
        } else if (kind == Residual.BINARY) {
            Dnnl.check(dnnl_post_ops_append_binary(ops, dnnl_binary_add, residual.md), "dnnl_post_ops_append_binary",
                    what);
        }
        if (relu) {
            Dnnl.check(dnnl_post_ops_append_eltwise(ops, dnnl_eltwise_relu, 0f, 0f), "dnnl_post_ops_append_eltwise",
                    what);
        }
        dnnl_primitive_attr attr = new dnnl_primitive_attr();
        Dnnl.check(dnnl_primitive_attr_create(attr), "dnnl_primitive_attr_create", what);
        scope.owns(attr, () -> dnnl_primitive_attr_destroy(attr));
        Dnnl.check(dnnl_primitive_attr_set_post_ops(attr, ops), "dnnl_primitive_attr_set_post_ops", what);
        return attr;
    }

    /** Padding at the bottom/right that gives PyTorch's floor-mode output size (it may be less than the top's). */
    private static long padRight(int in, int out, int kernel, int stride, int pad) {
        return (long) (out - 1) * stride + kernel - in - pad;
    }

    /** The value as {@code wanted} lays it out: itself, or a new value a reorder writes each pass. */
    private Value inLayout(Value v, dnnl_memory_desc wanted, String what) {
        if (Dnnl.same(v.md, wanted)) {
            return v;
        }
        Value to = newValue(owned(Dnnl.cloneOf(wanted)), "reorder for " + what);
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        Dnnl.check(dnnl_reorder_primitive_desc_create(pd, v.md, engine, to.md, engine, null),
                "dnnl_reorder_primitive_desc_create", what);
        scope.owns(pd, () -> dnnl_primitive_desc_destroy(pd));
        add(pd, "reorder for " + what, DNNL_ARG_FROM, v.memory, DNNL_ARG_TO, to.memory);
        return to;
    }

    /** A primitive for {@code pd}, executed each pass with the given (argument, memory) pairs. */
    private void add(dnnl_primitive_desc pd, String what, Object... argAndMemory) {
        dnnl_primitive p = new dnnl_primitive();
        Dnnl.check(dnnl_primitive_create(p, pd), "dnnl_primitive_create", what);
        scope.owns(p, () -> dnnl_primitive_destroy(p));
        int count = argAndMemory.length / 2;
        dnnl_exec_arg_t args = new dnnl_exec_arg_t(count);
        scope.owns(args, args::close);
        for (int i = 0; i < count; i++) {
            args.position(i).arg((Integer) argAndMemory[2 * i]).memory((dnnl_memory) argAndMemory[2 * i + 1]);
        }
        implementations.add(what + ": " + Dnnl.implementation(pd));
        execs.add(new Exec(p, args.position(0), count, what, step));
    }

    /** A new value laid out as {@code md} (owned by this plan), on a free buffer or a new one. */
    private Value newValue(dnnl_memory_desc md, String what) {
        long bytes = dnnl_memory_desc_get_size(md);
        var fits = free.ceilingEntry(bytes);  // the smallest free buffer that holds it
        NativeBuffer b;
        if (fits != null) {
            b = fits.getValue().remove(fits.getValue().size() - 1);
            if (fits.getValue().isEmpty()) {
                free.remove(fits.getKey());
            }
        } else {
            b = new NativeBuffer(bytes, what);
            scope.owns(b, b::close);
            activationBytes += bytes;
        }
        return new Value(memoryOn(md, b, what), md, b);
    }

    private void release(Value v) {
        if (v != input) {
            free.computeIfAbsent(v.buffer.bytes, k -> new ArrayList<>()).add(v.buffer);
        }
    }

    private dnnl_memory memoryOn(dnnl_memory_desc md, NativeBuffer b, String what) {
        dnnl_memory m = new dnnl_memory();
        Dnnl.check(dnnl_memory_create(m, md, engine, b.data), "dnnl_memory_create", what);
        return scope.owns(m, () -> dnnl_memory_destroy(m));
    }

    /** A float32 descriptor this plan owns. */
    private dnnl_memory_desc md(int tag, long... d) {
        return owned(Dnnl.md(tag, d));
    }

    private dnnl_memory_desc owned(dnnl_memory_desc md) {
        return scope.owns(md, () -> dnnl_memory_desc_destroy(md));
    }

    @Override
    public void close() {
        scope.close();
    }
}
