package dev.jresnet.cli;

import dev.jresnet.resnet.ResNet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code jresnet summary}: the model's size and cost. */
@Command(name = "summary", mixinStandardHelpOptions = true,
        description = "Print the network's architecture, parameter count, FLOPs per image, preset and weights.")
final class SummaryCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (ResNet net = model.build(spec.commandLine().getErr())) {
            int s = net.inputSize();
            out.printf(Locale.ROOT, "architecture:      %s (%s), %d classes%n", net.architecture().id(),
                    net.architecture().variant().id(), net.architecture().numClasses());
            out.printf(Locale.ROOT, "parameters:        %,d%n", net.parameterCount());
            out.printf(Locale.ROOT, "FLOPs per %dx%d:   %,d (%.2f GFLOP; a multiply-add counts 2)%n", s, s,
                    net.flopsPerImage(s, s), net.flopsPerImage(s, s) / 1e9);
            out.printf(Locale.ROOT, "preset:            %s%n", net.preset().id());
            out.printf(Locale.ROOT, "weights:           %s%n", net.weightsDescription());
            out.flush();
        }
        return 0;
    }
}
