package dev.jresnet.dnnl;

import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.javacpp.FloatPointer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * The network's constants (weights with batch norm folded in, biases) in native memory, each in the layout a
 * primitive asked for, reordered once and shared by every plan that asks for the same layout (batch 1 and 8 mostly
 * agree). Freed by {@link #close()}; its owner serialises calls.
 */
final class DnnlConstants implements AutoCloseable {
    private record Laid(dnnl_memory_desc md, dnnl_memory memory) {}

    private final dnnl_engine engine;
    private final Map<String, List<Laid>> byName = new HashMap<>();
    private final NativeScope scope = new NativeScope();
    private long bytes;

    DnnlConstants(dnnl_engine engine) {
        this.engine = engine;
    }

    /**
     * Constant {@code name} laid out as {@code wanted}: made now from {@code data} (laid out as {@code plain}) if no
     * plan asked for that layout before. The memory lives until this is closed.
     */
    dnnl_memory get(String name, Supplier<float[]> data, dnnl_memory_desc plain, dnnl_memory_desc wanted,
                    dnnl_stream stream) {
        List<Laid> laid = byName.computeIfAbsent(name, k -> new ArrayList<>());
        for (Laid l : laid) {
            if (Dnnl.same(l.md, wanted)) {
                return l.memory;
            }
        }
        dnnl_memory_desc md = Dnnl.cloneOf(wanted);
        scope.owns(md, () -> dnnl_memory_desc_destroy(md));
        long size = dnnl_memory_desc_get_size(md);
        NativeBuffer b = new NativeBuffer(size, name);
        scope.owns(b, b::close);
        dnnl_memory m = new dnnl_memory();
        Dnnl.check(dnnl_memory_create(m, md, engine, b.data), "dnnl_memory_create", name);
        scope.owns(m, () -> dnnl_memory_destroy(m));
        float[] values = data.get();
        if (Dnnl.same(plain, md)) {
            b.floats.put(values, 0, values.length);
        } else {
            reorder(values, plain, m, md, stream, name);
        }
        bytes += size;
        laid.add(new Laid(md, m));
        return m;
    }

    /** Bytes of native memory the constants take. */
    long bytes() {
        return bytes;
    }

    private void reorder(float[] values, dnnl_memory_desc plain, dnnl_memory to, dnnl_memory_desc toMd,
                         dnnl_stream stream, String name) {
        try (NativeScope temp = new NativeScope(); FloatPointer src = new FloatPointer(values);
             dnnl_exec_arg_t args = new dnnl_exec_arg_t(2)) {
            dnnl_memory from = new dnnl_memory();
            Dnnl.check(dnnl_memory_create(from, plain, engine, src), "dnnl_memory_create", name);
            temp.owns(from, () -> dnnl_memory_destroy(from));
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            Dnnl.check(dnnl_reorder_primitive_desc_create(pd, plain, engine, toMd, engine, null),
                    "dnnl_reorder_primitive_desc_create", name);
            temp.owns(pd, () -> dnnl_primitive_desc_destroy(pd));
            dnnl_primitive p = new dnnl_primitive();
            Dnnl.check(dnnl_primitive_create(p, pd), "dnnl_primitive_create", name);
            temp.owns(p, () -> dnnl_primitive_destroy(p));
            args.position(0).arg(DNNL_ARG_FROM).memory(from);
            args.position(1).arg(DNNL_ARG_TO).memory(to);
            Dnnl.check(dnnl_primitive_execute(p, stream, 2, args.position(0)), "dnnl_primitive_execute", "reorder " + name);
            Dnnl.check(dnnl_stream_wait(stream), "dnnl_stream_wait", "reorder " + name);
        }
    }

    @Override
    public void close() {
        scope.close();
        byName.clear();
    }
}
