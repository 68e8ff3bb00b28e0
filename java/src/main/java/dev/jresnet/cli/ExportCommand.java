package dev.jresnet.cli;

import dev.jresnet.io.FileChecks;
import dev.jresnet.onnx.OnnxExporter;
import dev.jresnet.resnet.ResNet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code jresnet export --weights W --out model.onnx}: the model as ONNX for ONNX Runtime and other engines. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write the model (any head, e.g. a fine-tuned one) as ONNX, opset 13, dynamic batch.")
final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The .onnx file to write.")
    Path out;

    @Override
    public Integer call() throws Exception {
        FileChecks.requireNotAnInput(out, "--out", model.resolveWeights());
        try (ResNet net = model.build(spec.commandLine().getErr())) {
            OnnxExporter.write(net.network(), net.exportWeights(null).metadata(), out);
            spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: %s (%s), %d classes, opset 13, input [N,3,H,W]%n",
                    out, net.architecture().id(), net.architecture().variant().id(), net.architecture().numClasses());
        }
        return 0;
    }
}
