package dev.jresnet.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * The project's own kernels (native/*.cu), compiled by NVRTC to a CUBIN for the current device (cached on
 * disk, see {@link KernelCompiler}), loaded with {@code cuModuleLoadData}, and launched with
 * {@code cuLaunchKernel} through typed methods that compute the launch shape and check sizes.
 *
 * <p>Owns one CUmodule per .cu file; {@link #close()} unloads them. Launch from a thread on which the
 * context is current ({@link CudaContext#makeCurrent()}). Launches are asynchronous on the given stream;
 * errors inside a kernel surface at the next synchronising call.
 *
 * <p>fp16 tensors are arrays of IEEE binary16 bits (Java {@code short}, see {@code dev.jresnet.tensor.Half}).
 */
public final class Kernels extends CudaResource {
    /** Threads per block of the one-dimensional kernels. */
    static final int BLOCK = 256;
    /** Tile edge and rows per block of the transposing conversions (convert.cu's JR_TILE, JR_ROWS). */
    static final int TILE = 32, TILE_ROWS = 8;
    /** Grid cap of the grid-stride kernels. */
    static final int MAX_STRIDE_BLOCKS = 65535;
    /** CUDA's limit on gridDim.y and gridDim.z. */
    static final int MAX_GRID_YZ = 65535;

    private final CudaContext context;
    private final String arch;
    private final List<CUmod_st> modules;
    private final Map<String, CUfunc_st> functions;

    private Kernels(CudaContext context, String arch, List<CUmod_st> modules, Map<String, CUfunc_st> functions) {
        this.context = context;
        this.arch = arch;
        this.modules = modules;
        this.functions = functions;
    }

    /** Compiles (or takes from the default cache) and loads every kernel for the context's device. */
    public static Kernels load(CudaContext context) {
        return load(context, KernelCompiler.withDefaultCache());
    }

    public static Kernels load(CudaContext context, KernelCompiler compiler) {
        context.makeCurrent();
        String arch = context.device().arch();
        List<CUmod_st> modules = new ArrayList<>();
        Map<String, CUfunc_st> functions = new HashMap<>();
        try {
            for (String file : KernelSources.FILES) {
                String source = KernelSources.read(file);
                CUmod_st module = loadModule(compiler, file, source, arch);
                modules.add(module);
                for (KernelSources.KernelSpec spec : KernelSources.KERNELS) {
                    if (spec.file().equals(file)) {
                        CUfunc_st fn = new CUfunc_st();
                        Cuda.checkDriver(cuModuleGetFunction(fn, module, spec.name()), "cuModuleGetFunction",
                                spec.name(), file, arch);
                        functions.put(spec.name(), fn);
                    }
                }
            }
        } catch (RuntimeException e) {
            for (CUmod_st m : modules) {
                cuModuleUnload(m);
            }
            throw e;
        }
        return new Kernels(context, arch, modules, functions);
    }

    private static CUmod_st loadModule(KernelCompiler compiler, String file, String source, String arch) {
        for (int attempt = 0; ; attempt++) {
            byte[] cubin = compiler.cubin(file, source, arch);
            CUmod_st module = new CUmod_st();
            int rc;
            try (BytePointer image = new BytePointer(cubin)) {
                rc = cuModuleLoadData(module, image);
            }
            if (rc == CUDA_SUCCESS) {
                return module;
            }
            if (attempt == 0 && (rc == CUDA_ERROR_INVALID_IMAGE || rc == CUDA_ERROR_NO_BINARY_FOR_GPU
                    || rc == CUDA_ERROR_INVALID_PTX)) {
                compiler.evict(file, source, arch); // a damaged cache entry: compile again once
                continue;
            }
            Cuda.checkDriver(rc, "cuModuleLoadData", file, arch, "CUBIN of " + cubin.length + " bytes",
                    "NVRTC " + Nvrtc.version());
        }
    }

    /** The architecture the kernels were compiled for, e.g. "sm_90". */
    public String arch() {
        return arch;
    }

    // ---------------------------------------------------------------- preprocess.cu

    /**
     * N images of h x w interleaved 8-bit RGB ({@code in}, n*h*w*3 bytes) to normalised NCHW fp32
     * ({@code out}, n*3*h*w floats): {@code x = p / 255f; x = (x - mean[c]) / std[c]}.
     */
    public void preprocessU8ToNchwF32(Stream stream, DeviceBuffer in, DeviceBuffer out, int n, int h, int w,
                                      float[] mean, float[] std) {
        checkOpen();
        preprocess("preprocess_u8_hwc_to_nchw_f32", stream, in, out, n, h, w, mean, std, 3 * 4L, null);
    }

    /** As {@link #preprocessU8ToNchwF32} but to NHWC fp16 ({@code out}, n*h*w*3 halves), rounded to nearest even. */
    public void preprocessU8ToNhwcF16(Stream stream, DeviceBuffer in, DeviceBuffer out, int n, int h, int w,
                                      float[] mean, float[] std) {
        preprocessU8ToNhwcF16(stream, in, out, n, h, w, 3, mean, std);
    }

    /**
     * As {@link #preprocessU8ToNchwF32} but to NHWC fp16 with {@code cOut} >= 3 channels per pixel ({@code out},
     * n*h*w*cOut halves): the three colours rounded to nearest even, then cOut - 3 zeros.
     */
    public void preprocessU8ToNhwcF16(Stream stream, DeviceBuffer in, DeviceBuffer out, int n, int h, int w, int cOut,
                                      float[] mean, float[] std) {
        checkOpen();
        if (cOut < 3) {
            throw new IllegalArgumentException("preprocess_u8_hwc_to_nhwc_f16: " + cOut + " output channels < 3");
        }
        preprocess("preprocess_u8_hwc_to_nhwc_f16", stream, in, out, n, h, w, mean, std, 2L * cOut, cOut);
    }

    private void preprocess(String kernel, Stream stream, DeviceBuffer in, DeviceBuffer out, int n, int h, int w,
                            float[] mean, float[] std, long outPixelBytes, Integer cOut) {
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 values (R, G, B), got " + mean.length + " and "
                    + std.length);
        }
        long pixels = checkDims(n, h, w);
        requireBytes(in, pixels * 3, "input (n*h*w*3 bytes)", kernel);
        requireBytes(out, pixels * outPixelBytes, "output", kernel);
        if (pixels == 0) {
            return;
        }
        checkGridYZ(n, "n", kernel);
        String shape = "n=" + n + " h=" + h + " w=" + w + (cOut == null ? "" : " c_out=" + cOut);
        Object[] args = cOut == null
                ? new Object[] {in, out, h, w, mean[0], mean[1], mean[2], std[0], std[1], std[2]}
                : new Object[] {in, out, h, w, cOut, mean[0], mean[1], mean[2], std[0], std[1], std[2]};
        launch(kernel, stream, blocks((long) h * w, BLOCK), n, 1, BLOCK, 1, shape, args);
    }

    // ---------------------------------------------------------------- convert.cu

    /** NCHW fp32 ({@code in}) to NHWC fp16 ({@code out}); also filters KCRS to KRSC with n=K, h*w=R*S. */
    public void nchwF32ToNhwcF16(Stream stream, DeviceBuffer in, DeviceBuffer out, int n, int c, int h, int w) {
        nchwF32ToNhwcF16(stream, in, out, n, c, h, w, c);
    }

    /**
     * NCHW fp32 [n][c][h][w] ({@code in}) to NHWC fp16 [n][h][w][cOut] ({@code out}), channels c..cOut-1 zero: the
     * network input's 3 channels stored as 8.
     */
    public void nchwF32ToNhwcF16(Stream stream, DeviceBuffer in, DeviceBuffer out, int n, int c, int h, int w,
                                 int cOut) {
        checkOpen();
        String kernel = "nchw_f32_to_nhwc_f16";
        if (cOut < c) {
            throw new IllegalArgumentException(kernel + ": " + cOut + " output channels < " + c + " input channels");
        }
        long elements = checkDims(n, c, h, w);
        requireBytes(in, elements * 4, "input", kernel);
        requireBytes(out, checkDims(n, cOut, h, w) * 2, "output", kernel);
        if (elements == 0) {
            return;
        }
        int hw = Math.multiplyExact(h, w);
        int gx = blocks(hw, TILE), gy = blocks(cOut, TILE);
        checkGridYZ(gy, "ceil(c_out/32)", kernel);
        checkGridYZ(n, "n", kernel);
        launch(kernel, stream, gx, gy, n, TILE, TILE_ROWS, "n=" + n + " c=" + c + " h=" + h + " w=" + w
                + " c_out=" + cOut, in, out, c, hw, cOut);
    }

    /** NHWC fp16 ({@code in}) to NCHW fp32 ({@code out}), exact. */
    public void nhwcF16ToNchwF32(Stream stream, DeviceBuffer in, DeviceBuffer out, int n, int c, int h, int w) {
        checkOpen();
        String kernel = "nhwc_f16_to_nchw_f32";
        long elements = checkDims(n, c, h, w);
        requireBytes(in, elements * 2, "input", kernel);
        requireBytes(out, elements * 4, "output", kernel);
        if (elements == 0) {
            return;
        }
        int hw = Math.multiplyExact(h, w);
        int gx = blocks(c, TILE), gy = blocks(hw, TILE);
        checkGridYZ(gy, "ceil(h*w/32)", kernel);
        checkGridYZ(n, "n", kernel);
        launch(kernel, stream, gx, gy, n, TILE, TILE_ROWS, "n=" + n + " c=" + c + " h=" + h + " w=" + w,
                in, out, c, hw);
    }

    /** {@code count} fp32 values to fp16, same order, rounded to nearest even. */
    public void f32ToF16(Stream stream, DeviceBuffer in, DeviceBuffer out, long count) {
        checkOpen();
        elementwise("f32_to_f16", stream, in, 4, out, 2, count);
    }

    /** {@code count} fp16 values to fp32, exact. */
    public void f16ToF32(Stream stream, DeviceBuffer in, DeviceBuffer out, long count) {
        checkOpen();
        elementwise("f16_to_f32", stream, in, 2, out, 4, count);
    }

    private void elementwise(String kernel, Stream stream, DeviceBuffer in, int inBytes, DeviceBuffer out,
                             int outBytes, long count) {
        if (count < 0) {
            throw new IllegalArgumentException(kernel + ": negative count " + count);
        }
        requireBytes(in, count * inBytes, "input", kernel);
        requireBytes(out, count * outBytes, "output", kernel);
        if (count == 0) {
            return;
        }
        int grid = Math.min(blocks(count, BLOCK), MAX_STRIDE_BLOCKS);
        launch(kernel, stream, grid, 1, 1, BLOCK, 1, "count=" + count, in, out, count);
    }

    // ---------------------------------------------------------------- pool.cu

    /** Global average pool of NHWC fp16 ({@code in}) to [N, C] fp32 ({@code out}). */
    public void globalAvgPoolNhwcF16(Stream stream, DeviceBuffer in, DeviceBuffer out, int n, int c, int h, int w) {
        checkOpen();
        String kernel = "global_avg_pool_nhwc_f16";
        long elements = checkDims(n, c, h, w);
        requireBytes(in, elements * 2, "input", kernel);
        requireBytes(out, (long) n * c * 4, "output [N, C] fp32", kernel);
        requirePositiveMap(h, w, kernel);
        if (elements == 0) {
            return;
        }
        checkGridYZ(n, "n", kernel);
        launch(kernel, stream, blocks(c, BLOCK), n, 1, BLOCK, 1, "n=" + n + " c=" + c + " h=" + h + " w=" + w,
                in, out, c, Math.multiplyExact(h, w));
    }

    /** Global average pool of NCHW fp32 ({@code in}) to [N, C] fp32 ({@code out}). */
    public void globalAvgPoolNchwF32(Stream stream, DeviceBuffer in, DeviceBuffer out, int n, int c, int h, int w) {
        checkOpen();
        String kernel = "global_avg_pool_nchw_f32";
        long elements = checkDims(n, c, h, w);
        requireBytes(in, elements * 4, "input", kernel);
        requireBytes(out, (long) n * c * 4, "output [N, C] fp32", kernel);
        requirePositiveMap(h, w, kernel);
        if (elements == 0) {
            return;
        }
        int planes = Math.multiplyExact(n, c);
        int warpsPerBlock = BLOCK / 32;
        launch(kernel, stream, blocks(planes, warpsPerBlock), 1, 1, BLOCK, 1,
                "n=" + n + " c=" + c + " h=" + h + " w=" + w, in, out, planes, Math.multiplyExact(h, w));
    }

    // ---------------------------------------------------------------- softmax.cu

    /** Softmax of each row of a [rows, cols] fp32 matrix; {@code in} and {@code out} may be the same buffer. */
    public void softmaxRowsF32(Stream stream, DeviceBuffer in, DeviceBuffer out, int rows, int cols) {
        checkOpen();
        String kernel = "softmax_rows_f32";
        long elements = checkDims(rows, cols);
        requireBytes(in, elements * 4, "input", kernel);
        requireBytes(out, elements * 4, "output", kernel);
        if (elements == 0) {
            return;
        }
        launch(kernel, stream, rows, 1, 1, BLOCK, 1, "rows=" + rows + " cols=" + cols, in, out, cols);
    }

    // ---------------------------------------------------------------- launching

    /**
     * Launches kernel {@code name} (one of {@link KernelSources#KERNELS}) with arguments matching its parameter
     * letters, for typed launchers outside this package (dev.jresnet.cuda.train.TrainKernels); no dynamic shared
     * memory. The caller checks sizes and computes the launch shape.
     */
    public void launchKernel(String name, Stream stream, int gx, int gy, int gz, int bx, int by, Object... args) {
        launch(name, stream, gx, gy, gz, bx, by, name, args);
    }

    /** ceil(work / per), as a grid dimension. */
    static int blocks(long work, int per) {
        long b = (work + per - 1) / per;
        if (b > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("grid of " + b + " blocks is too large");
        }
        return (int) b;
    }

    private static long checkDims(int... dims) {
        long product = 1;
        for (int d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + java.util.Arrays.toString(dims));
            }
            product = Math.multiplyExact(product, d);
        }
        return product;
    }

    private static void checkGridYZ(int value, String what, String kernel) {
        if (value > MAX_GRID_YZ) {
            throw new IllegalArgumentException(kernel + ": " + what + " = " + value + " exceeds the grid limit of "
                    + MAX_GRID_YZ + "; split the batch");
        }
    }

    private static void requirePositiveMap(int h, int w, String kernel) {
        if (h == 0 || w == 0) {
            throw new IllegalArgumentException(kernel + ": cannot average an empty " + h + "x" + w + " map");
        }
    }

    private static void requireBytes(DeviceBuffer b, long needed, String what, String kernel) {
        if (b.bytes() < needed) {
            throw new IllegalArgumentException(kernel + ": " + what + " needs " + needed + " bytes but " + b
                    + " has " + b.bytes());
        }
    }

    /**
     * {@code cuLaunchKernel(f, grid, block, 0 shared bytes, stream, params, NULL)}: each argument is put in a
     * native cell (a DeviceBuffer as its 8-byte address, Integer as int, Long as long long, Float as float)
     * and params holds the cells' addresses; the driver copies the values during the call.
     */
    private void launch(String kernel, Stream stream, int gx, int gy, int gz, int bx, int by, String shape,
                        Object... args) {
        checkOpen();
        KernelSources.KernelSpec spec = KernelSources.spec(kernel);
        checkArgs(spec, args);
        CUfunc_st fn = functions.get(kernel);
        Pointer[] cells = new Pointer[args.length];
        try {
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                if (a instanceof DeviceBuffer b) {
                    cells[i] = new LongPointer(1).put(b.address());
                } else if (a instanceof Integer v) {
                    cells[i] = new IntPointer(1).put(v);
                } else if (a instanceof Long v) {
                    cells[i] = new LongPointer(1).put(v);
                } else {
                    cells[i] = new FloatPointer(1).put((Float) a);
                }
            }
            try (PointerPointer<Pointer> params = new PointerPointer<>(cells)) {
                Cuda.checkDriver(cuLaunchKernel(fn, gx, gy, gz, bx, by, 1, 0, stream.handle(), params,
                                (PointerPointer<?>) null),
                        "cuLaunchKernel", kernel, shape, "grid=" + gx + "x" + gy + "x" + gz, "block=" + bx + "x" + by);
            }
        } finally {
            for (Pointer p : cells) {
                if (p != null) {
                    p.close();
                }
            }
        }
    }

    /** The Java arguments must match the kernel's parameter letters (P, I, L, F) one for one. */
    static void checkArgs(KernelSources.KernelSpec spec, Object... args) {
        String params = spec.params();
        if (params.length() != args.length) {
            throw new IllegalArgumentException(spec.name() + " takes " + params.length() + " arguments, got " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            char kind = params.charAt(i);
            Object a = args[i];
            boolean ok = switch (kind) {
                case 'P' -> a instanceof DeviceBuffer;
                case 'I' -> a instanceof Integer;
                case 'L' -> a instanceof Long;
                case 'F' -> a instanceof Float;
                default -> false;
            };
            if (!ok) {
                throw new IllegalArgumentException(spec.name() + " argument " + i + " must be " + kind + ", got "
                        + (a == null ? "null" : a.getClass().getSimpleName()));
            }
        }
    }

    @Override
    protected String describe() {
        return "Kernels(" + arch + ", " + modules.size() + " modules)";
    }

    @Override
    protected void release() {
        if (!context.isClosed()) {
            context.makeCurrent();
        }
        CudaException first = null;
        for (CUmod_st m : modules) {
            int rc = cuModuleUnload(m);
            if (rc != CUDA_SUCCESS && first == null) {
                first = new CudaException(CudaException.Library.CUDA_DRIVER, "cuModuleUnload", rc,
                        Cuda.driverErrorString(rc), describe());
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
