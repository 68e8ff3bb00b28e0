package dev.jresnet.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The CUDA C sources of {@code native/}, shipped in the jar under {@code dev/jresnet/native/} (java/pom.xml
 * copies them there), and the signature of every kernel the Java side launches.
 */
public final class KernelSources {
    /** Classpath folder of the .cu files. */
    public static final String RESOURCE_DIR = "/dev/jresnet/native/";

    /** Every kernel file, one topic each. */
    public static final List<String> FILES = List.of("preprocess.cu", "convert.cu", "pool.cu", "softmax.cu", "train.cu");

    /**
     * One kernel: the file defining it, its extern "C" name, and its parameters as letters: P a device
     * pointer, I an int, L a long long, F a float. A test compares these with the .cu signatures.
     */
    public record KernelSpec(String file, String name, String params) {}

    public static final List<KernelSpec> KERNELS = List.of(
            new KernelSpec("preprocess.cu", "preprocess_u8_hwc_to_nchw_f32", "PPIIFFFFFF"),
            new KernelSpec("preprocess.cu", "preprocess_u8_hwc_to_nhwc_f16", "PPIIIFFFFFF"),
            new KernelSpec("convert.cu", "nchw_f32_to_nhwc_f16", "PPIII"),
            new KernelSpec("convert.cu", "nhwc_f16_to_nchw_f32", "PPII"),
            new KernelSpec("convert.cu", "f32_to_f16", "PPL"),
            new KernelSpec("convert.cu", "f16_to_f32", "PPL"),
            new KernelSpec("pool.cu", "global_avg_pool_nhwc_f16", "PPII"),
            new KernelSpec("pool.cu", "global_avg_pool_nchw_f32", "PPII"),
            new KernelSpec("softmax.cu", "softmax_rows_f32", "PPI"),
            // train.cu: launched through dev.jresnet.cuda.train.TrainKernels
            new KernelSpec("train.cu", "relu_backward_f32", "PPPL"),
            new KernelSpec("train.cu", "add_relu_f32", "PPPL"),
            new KernelSpec("train.cu", "add_inplace_f32", "PPL"),
            new KernelSpec("train.cu", "global_avg_pool_backward_nchw_f32", "PPLI"),
            new KernelSpec("train.cu", "bn_eval_forward_nchw_f32", "PPPPPPFIILI"),
            new KernelSpec("train.cu", "bn_eval_backward_params_nchw_f32", "PPPPPPFIII"),
            new KernelSpec("train.cu", "bn_eval_backward_data_nchw_f32", "PPPPFIIL"),
            new KernelSpec("train.cu", "bias_grad_rows_f32", "PPII"),
            new KernelSpec("train.cu", "softmax_xent_rows_f32", "PPPPIIF"),
            new KernelSpec("train.cu", "mean_rows_f64", "PPI"),
            new KernelSpec("train.cu", "grad_sumsq_f64", "PPLI"),
            new KernelSpec("train.cu", "clip_coef_f32", "PPIF"),
            new KernelSpec("train.cu", "scale_by_device_f32", "PPL"),
            new KernelSpec("train.cu", "sgd_step_f32", "PPPLFFFI"),
            new KernelSpec("train.cu", "adamw_step_f32", "PPPPLFFFFFFFF"));

    private KernelSources() {}

    /** The text of {@code file} (one of {@link #FILES}) from the classpath. */
    public static String read(String file) {
        String path = RESOURCE_DIR + file;
        try (InputStream in = KernelSources.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + path + " is not on the classpath"
                        + " (java/pom.xml copies native/*.cu there)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }

    static KernelSpec spec(String name) {
        for (KernelSpec k : KERNELS) {
            if (k.name().equals(name)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown kernel " + name);
    }
}
