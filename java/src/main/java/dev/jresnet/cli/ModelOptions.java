package dev.jresnet.cli;

import dev.jresnet.graph.Architecture;
import dev.jresnet.image.Preset;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.DeviceUnavailableException;
import dev.jresnet.tensor.Precision;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.graph.Variant;
import dev.jresnet.weights.TrainingCheckpointException;
import dev.jresnet.weights.WeightFormatException;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Options shared by the commands that build a model. */
final class ModelOptions {
    /** Where the CLI looks for weights when --weights is not given (after $JRESNET_WEIGHTS). */
    static final String DEFAULT_WEIGHTS = "weights/resnet50.safetensors";

    @Option(names = "--weights", paramLabel = "FILE",
            description = "Weights (.pth, .safetensors or .onnx). Default: $JRESNET_WEIGHTS, else " + DEFAULT_WEIGHTS
                    + " if present, else the --arch's weights downloaded by `jresnet weights download` into the cache "
                    + "($XDG_CACHE_HOME/jresnet, else ~/.cache/jresnet), else seeded untrained weights.")
    Path weights;

    @Option(names = "--arch", paramLabel = "NAME",
            description = "Architecture: resnet18, resnet34, resnet50, resnet101, resnet152, wide_resnet50_2, "
                    + "wide_resnet101_2, resnext50_32x4d, resnext101_32x8d or resnext101_64x4d. Default: the weights' "
                    + "(from their metadata or recognised from their tensors), else resnet50.")
    String arch;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "Preprocessing: torchvision-v1 (256/224) or torchvision-v2 (232/224). Default: from the weights' metadata, else torchvision-v1.")
    String preset;

    @Option(names = "--variant", paramLabel = "V", description = "v1.5 (torchvision, default) or v1.")
    String variant;

    @Option(names = "--untrained", description = "Use the seeded untrained weights even when a default weights file exists.")
    boolean untrained;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the untrained weights. Default: ${DEFAULT-VALUE}.")
    long seed;

    /**
     * The weights file to use: explicit, then $JRESNET_WEIGHTS, then the default path, then the cached download of
     * the architecture asked (resnet50 without --arch); null for untrained.
     */
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
        return defaultWeights(arch, System.getenv(), WeightsCache.dir());
    }

    /**
     * The weights a command uses when none is named (classify, finetune and the others alike): $JRESNET_WEIGHTS,
     * else $JRESNET_HOME/weights/resnet50.safetensors (or weights/resnet50.safetensors here) if present, else the
     * best cached download of {@code arch} (resnet50 when null) in {@code cache}; null when there is none.
     */
    static Path defaultWeights(String arch, Map<String, String> env, Path cache) {
        String given = env.get("JRESNET_WEIGHTS");
        if (given != null && !given.isBlank()) {
            return Path.of(given);
        }
        String home = env.get("JRESNET_HOME");
        Path p = home != null ? Path.of(home).resolve(DEFAULT_WEIGHTS) : Path.of(DEFAULT_WEIGHTS);
        if (Files.isRegularFile(p)) {
            return p;
        }
        String id = arch == null ? Architecture.RESNET50.id() : arch.toLowerCase(java.util.Locale.ROOT);
        return WeightsCache.find(cache, id).orElse(null);
    }

    /** Builds the model on the CPU (to read, describe or write it) and tells (on {@code err}) which weights it has. */
    ResNet build(PrintWriter err) throws IOException {
        return build(err, null);
    }

    /**
     * Builds the model on {@code run}'s device and precision (null: the CPU, fp32, and no "device:" line) and tells
     * (on {@code err}) which device and weights it runs with.
     */
    ResNet build(PrintWriter err, DeviceOptions run) throws IOException {
        Device d = run != null ? run.parse() : Device.cpu();
        ResNet.Builder b = ResNet.builder().device(d).seed(seed)
                .precision(Precision.parse(run != null ? run.precision : "fp32"));
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
        if (arch != null) {
            b.architecture(Architecture.of(arch));
        }
        ResNet model;
        try {
            model = b.build();
        } catch (DeviceUnavailableException e) {
            throw DeviceOptions.inCliWords(e);
        } catch (TrainingCheckpointException e) {
            throw new WeightFormatException(e.file() + ": a training checkpoint (model weights, optimizer state and "
                    + "progress of a `jresnet finetune` run), not a model: use the model that finetune wrote with --out "
                    + "(or continue training: jresnet finetune ... --resume " + e.file() + ")", e);
        }
        if (run != null) {
            err.println("device:  " + model.deviceDescription());
        }
        String arch = " (" + model.architecture().describe() + ")";
        if (model.isPretrained()) {
            err.println("weights: " + model.weightsDescription() + arch);
        } else {
            err.println("weights: " + model.weightsDescription() + arch
                    + ": UNTRAINED, predictions are meaningless; get pretrained weights with `"
                    + PretrainedWeights.downloadCommand(model.architecture().id()) + "` (weights/README.md)");
        }
        err.flush();
        return model;
    }
}
