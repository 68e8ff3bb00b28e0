package dev.jresnet.cli;

import dev.jresnet.cpu.GradCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code jresnet gradcheck}: every CPU backward op against finite differences. */
@Command(name = "gradcheck", mixinStandardHelpOptions = true,
        description = "Check every CPU backward op against central finite differences at small random shapes; "
                + "print a table and exit 1 if any gradient disagrees.")
final class GradcheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<GradCheck.Result> results = GradCheck.runAll(out);
        return results.stream().allMatch(GradCheck.Result::pass) ? 0 : 1;
    }
}
