package dev.jresnet.cli;

import dev.jresnet.io.FileChecks;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.DataType;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code jresnet convert IN --out OUT.safetensors}: checks a weight file against its architecture and rewrites it with metadata. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert torchvision .pth (or .safetensors) weights to a self-describing .safetensors file.")
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN", description = "A torchvision state_dict (.pth) or .safetensors file.")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "OUT", description = "The .safetensors file to write.")
    Path out;

    @Option(names = "--dtype", defaultValue = "f32", description = "Stored precision: f32, f16 or bf16. Default: ${DEFAULT-VALUE}.")
    String dtype;

    @Option(names = "--preset", paramLabel = "NAME", description = "Preprocessing preset to record (torchvision-v1 for IMAGENET1K_V1 weights, torchvision-v2 for IMAGENET1K_V2).")
    String preset;

    @Option(names = "--variant", paramLabel = "V", description = "v1.5 (torchvision, default) or v1.")
    String variant;

    @Option(names = "--arch", paramLabel = "NAME", description = "Architecture (resnet18 ... resnext101_64x4d). "
            + "Default: recognised from the file's tensors.")
    String arch;

    @Override
    public Integer call() throws Exception {
        FileChecks.requireNotAnInput(out, "--out", input);
        DataType type = switch (dtype.toLowerCase(Locale.ROOT)) {
            case "f32", "fp32", "float32" -> DataType.F32;
            case "f16", "fp16", "float16" -> DataType.F16;
            case "bf16", "bfloat16" -> DataType.BF16;
            default -> throw new IllegalArgumentException("--dtype must be f32, f16 or bf16, got " + dtype);
        };
        spec.commandLine().getOut().println(convert(input, out, type, preset, variant, arch,
                input.getFileName().toString(), spec.commandLine().getErr()));
        return 0;
    }

    /**
     * Reads {@code input} on the CPU, checks it against its architecture and writes {@code out} (atomically) with
     * the metadata; {@code sourceName} is the file name recorded as the weights' source. Returns the summary line.
     * Shared with {@code jresnet weights download}.
     */
    static String convert(Path input, Path out, DataType type, String preset, String variant, String arch,
                          String sourceName, PrintWriter err) throws java.io.IOException {
        ModelOptions opts = new ModelOptions();
        opts.weights = input;
        opts.preset = preset;
        opts.variant = variant;
        opts.arch = arch;
        try (ResNet model = opts.build(err)) {
            WeightSet set = model.exportWeights(sourceName);
            SafetensorsWriter.write(out, set, type, set.metadata());
            return String.format(Locale.ROOT, "wrote %s: %s, %d tensors, %,d parameters, %s, variant %s, "
                    + "preset %s, %d classes", out, model.architecture().id(), set.entries().size(),
                    model.parameterCount(), type.safetensorsName(), model.architecture().variant().id(),
                    model.preset().id(), model.architecture().numClasses());
        }
    }
}
