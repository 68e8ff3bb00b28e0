package dev.jresnet.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code jresnet} command line: one subcommand per job. */
@Command(name = "jresnet", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "ResNet inference, fine-tuning and tools (resnet50 by default, the torchvision family): cuDNN on NVIDIA GPUs, a pure-Java CPU path elsewhere.",
        subcommands = {ClassifyCommand.class, ConvertCommand.class, DoctorCommand.class, EvaluateCommand.class,
                ExportCommand.class, FinetuneCommand.class, GradcheckCommand.class, SummaryCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit status (tests call this instead of main). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The configured command line, for callers that redirect its output. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        for (CliExtension ext : java.util.ServiceLoader.load(CliExtension.class)) {
            cl.addSubcommand(ext.command());
        }
        // After the extensions: a converter reaches the subcommands present when it is registered.
        NumberOptions.register(cl);
        cl.setExecutionExceptionHandler((e, cmd, parse) -> {
            // A user error gets one line naming what is wrong; JRESNET_DEBUG=1 adds the stack trace.
            String m = e.getMessage() != null ? e.getMessage() : e.toString();
            cmd.getErr().println("jresnet: error: " + Terminal.safe(m.replace('\n', ' ')));
            if (System.getenv("JRESNET_DEBUG") != null) {
                e.printStackTrace(cmd.getErr());
            }
            return 2;
        });
        return cl;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"jresnet " + (v != null ? v : "(development build)"),
                    "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
