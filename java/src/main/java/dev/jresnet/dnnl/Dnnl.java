package dev.jresnet.dnnl;

import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_version_t;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;

import java.util.Arrays;

import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * oneDNN's C API as this package uses it: status checks that name the call and the shapes, memory descriptors, and
 * whether the library loads here at all ({@link #unavailableReason()}), asked once.
 */
public final class Dnnl {
    private static volatile String loadFailure;  // null: not asked yet; "": loaded
    private static dnnl_engine engine;           // the one CPU engine, for the life of the JVM (as oneDNN's examples)

    private Dnnl() {}

    /** Null when oneDNN's classes and native library load on this machine, else why not (one line). */
    public static String unavailableReason() {
        String f = loadFailure;
        if (f == null) {
            synchronized (Dnnl.class) {
                if (loadFailure == null) {
                    loadFailure = load();
                }
                f = loadFailure;
            }
        }
        return f.isEmpty() ? null : f;
    }

    private static String load() {
        try {
            Class.forName("org.bytedeco.dnnl.global.dnnl", false, Dnnl.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            return "oneDNN is not on the class path (org.bytedeco:dnnl and its " + Loader.getPlatform() + " jar)";
        }
        try {
            Loader.load(org.bytedeco.dnnl.global.dnnl.class);
            dnnl_engine e = new dnnl_engine();
            int status = dnnl_engine_create(e, dnnl_cpu, 0);
            if (status != dnnl_success) {
                return "oneDNN's CPU engine could not be made: " + statusName(status);
            }
            engine = e;
            return "";
        } catch (LinkageError | RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            String platform = Loader.getPlatform();
            return "oneDNN's native library did not load on " + platform + " (it needs the " + platform + " jars of "
                    + "org.bytedeco:dnnl and org.bytedeco:opencl): " + cause.getMessage();
        }
    }

    /** The CPU engine; {@link #unavailableReason()} must be null. */
    static dnnl_engine engine() {
        String why = unavailableReason();
        if (why != null) {
            throw new IllegalStateException(why);
        }
        return engine;
    }

    /**
     * "oneDNN 3.11.0, avx512_core_bf16 kernels, 2 OpenMP threads": the version, the instruction set its kernels use
     * here, and its threads.
     */
    public static String describe() {
        engine();
        dnnl_version_t v = dnnl_version();
        return "oneDNN " + v.major() + "." + v.minor() + "." + v.patch() + ", " + isaName(dnnl_get_effective_cpu_isa())
                + ", " + threads() + " OpenMP threads";
    }

    /**
     * The threads oneDNN runs on: this preset's OpenMP (libgomp) reads {@code OMP_NUM_THREADS} when it loads (its first
     * value), else takes one per processor this process may run on. Java cannot change it afterwards.
     */
    public static int threads() {
        String env = System.getenv("OMP_NUM_THREADS");
        if (env != null) {
            try {
                int t = Integer.parseInt(env.split(",")[0].trim());
                if (t > 0) {
                    return t;
                }
            } catch (NumberFormatException e) {
                // libgomp ignores a value it cannot read: so does this
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /** The name oneDNN's header gives the instruction set ("avx512_core_bf16"), looked up among its constants. */
    private static String isaName(int isa) {
        for (var f : org.bytedeco.dnnl.global.dnnl.class.getFields()) {
            String name = f.getName();
            if (name.startsWith("dnnl_cpu_isa_") && f.getType() == int.class && !name.endsWith("default")) {
                try {
                    if (f.getInt(null) == isa) {
                        return name.substring("dnnl_cpu_isa_".length()) + " kernels";
                    }
                } catch (IllegalAccessException e) {
                    break;
                }
            }
        }
        return "instruction set " + isa;
    }

    /** Throws {@link DnnlException} naming the call, the status and {@code what} unless status is success. */
    static void check(int status, String call, String what) {
        if (status != dnnl_success) {
            throw new DnnlException(call + " failed: " + statusName(status) + " (" + what + ")");
        }
    }

    static String statusName(int s) {
        if (s == dnnl_out_of_memory) return "dnnl_out_of_memory";
        if (s == dnnl_invalid_arguments) return "dnnl_invalid_arguments";
        if (s == dnnl_unimplemented) return "dnnl_unimplemented (no kernel for these shapes and formats)";
        if (s == dnnl_last_impl_reached) return "dnnl_last_impl_reached";
        if (s == dnnl_runtime_error) return "dnnl_runtime_error";
        if (s == dnnl_not_required) return "dnnl_not_required";
        return "status " + s;
    }

    /** A float32 descriptor of {@code dims} in layout {@code tag} (dnnl_nchw, dnnl_format_tag_any, ...), owned. */
    static dnnl_memory_desc md(int tag, long... dims) {
        dnnl_memory_desc md = new dnnl_memory_desc();
        check(dnnl_memory_desc_create_with_tag(md, dims.length, dims, dnnl_f32, tag), "dnnl_memory_desc_create_with_tag",
                Arrays.toString(dims));
        return md;
    }

    /** A copy of a descriptor a primitive descriptor owns, to keep after that is destroyed. */
    static dnnl_memory_desc cloneOf(dnnl_memory_desc md) {
        dnnl_memory_desc copy = new dnnl_memory_desc();
        check(dnnl_memory_desc_clone(copy, md), "dnnl_memory_desc_clone", "");
        return copy;
    }

    static boolean same(dnnl_memory_desc a, dnnl_memory_desc b) {
        return dnnl_memory_desc_equal(a, b) == 1;
    }

    /** The implementation oneDNN chose for a primitive ("brg_conv_fwd:avx512_core", "jit:avx512_core", ...). */
    static String implementation(dnnl_primitive_desc pd) {
        PointerPointer<BytePointer> out = new PointerPointer<>(1);
        try {
            check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, out), "dnnl_primitive_desc_query", "impl");
            return out.get(BytePointer.class, 0).getString();
        } finally {
            out.close();
        }
    }
}
