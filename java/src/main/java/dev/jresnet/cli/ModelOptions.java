package dev.jresnet.cli;

import dev.jresnet.image.Preset;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.Precision;
import dev.jresnet.resnet.ResNet50;
import dev.jresnet.resnet.Variant;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Options shared by the commands that build a model. */
final class ModelOptions {
    /** Where the CLI looks for weights when --weights is not given (after $JRESNET_WEIGHTS). */
    static final String DEFAULT_WEIGHTS = "weights/resnet50.safetensors";

    @Option(names = "--weights", paramLabel = "FILE",
            description = "Weights (.pth or .safetensors). Default: $JRESNET_WEIGHTS, else " + DEFAULT_WEIGHTS
                    + " if present, else seeded untrained weights.")
    Path weights;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "Preprocessing: torchvision-v1 (256/224) or torchvision-v2 (232/224). Default: from the weights' metadata, else torchvision-v1.")
    String preset;

    @Option(names = "--variant", paramLabel = "V", description = "v1.5 (torchvision, default) or v1.")
    String variant;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto",
            description = "auto (CUDA if usable, else CPU), cpu, cuda or cuda:N. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "fp32",
            description = "CUDA arithmetic: fp32 (exact), tf32 (tensor cores, fp32 data) or fp16 (NHWC, tensor cores). "
                    + "The CPU always computes in fp32. Default: ${DEFAULT-VALUE}.")
    String precision = "fp32";

    @Option(names = "--untrained", description = "Use the seeded untrained weights even when a default weights file exists.")
    boolean untrained;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the untrained weights. Default: ${DEFAULT-VALUE}.")
    long seed;

    /** The weights file to use: explicit, then $JRESNET_WEIGHTS, then the default path; null for untrained. */
    Path resolveWeights() {
        if (untrained && weights != null) {
            throw new IllegalArgumentException("--untrained and --weights exclude each other");
        }
        if (untrained) {
            return null;
        }
        if (weights != null) {
            return weights;
        }
        String env = System.getenv("JRESNET_WEIGHTS");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String home = System.getenv("JRESNET_HOME");
        Path p = home != null ? Path.of(home).resolve(DEFAULT_WEIGHTS) : Path.of(DEFAULT_WEIGHTS);
        return Files.isRegularFile(p) ? p : null;
    }

    /** Builds the model and tells (on {@code err}) which device and weights it runs with. */
    ResNet50 build(PrintWriter err) throws IOException {
        Device d = Device.parse(device);
        ResNet50.Builder b = ResNet50.builder().device(d).seed(seed).precision(Precision.parse(precision == null ? "fp32" : precision));
        Path w = resolveWeights();
        if (w != null) {
            b.weights(w);
        }
        if (preset != null) {
            b.preset(Preset.fromName(preset));
        }
        if (variant != null) {
            b.variant(Variant.fromId(variant));
        }
        ResNet50 model = b.build();
        err.println("device:  " + model.deviceDescription());
        if (model.isPretrained()) {
            err.println("weights: " + model.weightsDescription());
        } else {
            err.println("weights: " + model.weightsDescription()
                    + ": UNTRAINED, predictions are meaningless; get pretrained weights as weights/README.md says");
        }
        err.flush();
        return model;
    }
}
