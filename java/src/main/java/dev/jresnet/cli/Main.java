package dev.jresnet.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code jresnet} command line: one subcommand per job. */
@Command(name = "jresnet", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "ResNet inference, fine-tuning and tools (resnet50 by default, the torchvision family): cuDNN on NVIDIA GPUs, a pure-Java CPU path elsewhere.",
        subcommands = {ClassifyCommand.class, ConvertCommand.class, DoctorCommand.class, EvaluateCommand.class,
                ExportCommand.class, FinetuneCommand.class, GradcheckCommand.class, SummaryCommand.class,
                WeightsCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit status (tests call this instead of main). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /**
     * The engine's warnings (System.Logger "dev.jresnet...", e.g. an image the data loader skips) as one line each on
     * stderr, "jresnet: warning: ...", instead of java.util.logging's two-line default with a date. Kept here: a
     * logger nobody references may be collected and lose its handler.
     */
    private static final java.util.logging.Logger ENGINE_LOG = oneLineWarnings();

    private static java.util.logging.Logger oneLineWarnings() {
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("dev.jresnet");
        java.util.logging.ConsoleHandler h = new java.util.logging.ConsoleHandler();
        h.setFormatter(new java.util.logging.Formatter() {
            @Override
            public String format(java.util.logging.LogRecord r) {
                String level = r.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue() ? "error"
                        : "warning";
                return "jresnet: " + level + ": " + Terminal.safe(formatMessage(r)) + System.lineSeparator();
            }
        });
        log.setUseParentHandlers(false);
        log.addHandler(h);
        return log;
    }

    /** The configured command line, for callers that redirect its output. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        for (CliExtension ext : java.util.ServiceLoader.load(CliExtension.class)) {
            cl.addSubcommand(ext.command());
        }
        // After the extensions: a converter reaches the subcommands present when it is registered.
        NumberOptions.register(cl);
        cl.setParameterExceptionHandler((ex, args) -> {
            // One line naming the option and what is wrong with its value, not the whole usage text.
            CommandLine cmd = ex.getCommandLine();
            cmd.getErr().println("jresnet: error: " + Terminal.safe(ex.getMessage().replace('\n', ' ')) + " (`"
                    + cmd.getCommandSpec().qualifiedName() + " --help` lists the options)");
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, cmd.getErr());
            cmd.getErr().flush();
            return cmd.getCommandSpec().exitCodeOnInvalidInput();
        });
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
