package dev.jresnet.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code jresnet} command line: one subcommand per job. */
@Command(name = "jresnet", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "ResNet inference, fine-tuning and tools (resnet50 by default, the torchvision family): cuDNN on NVIDIA GPUs, a pure-Java CPU path elsewhere.",
        subcommands = {ClassifyCommand.class, ConvertCommand.class, DoctorCommand.class, EmbedCommand.class,
                EvaluateCommand.class, ExportCommand.class, FinetuneCommand.class, GradcheckCommand.class,
                ServeCommand.class, SummaryCommand.class, WeightsCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit status (tests call this instead of main). */
    public static int run(String... args) {
        CommandLine cl = commandLine();
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            // picocli hands only Exceptions to the handler below; what held the memory is unreachable by now
            cl.getErr().println("jresnet: error: not enough memory (" + e.getMessage() + "); raise -Xmx (JRESNET_XMX)");
            return 2;
        }
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
        CommandLine cl = new CommandLine(new Main()) {
            // picocli expands "@file" arguments while parsing; a file it cannot read (a folder, a device) ended the
            // run with picocli's stack trace: a usage error in one line instead (found by CliFuzzTest: "@.").
            @Override
            public ParseResult parseArgs(String... args) {
                for (String a : args) {
                    if (a != null && a.length() > 1 && a.startsWith("@") && !a.startsWith("@@")) {
                        java.nio.file.Path file = argumentFile(a.substring(1));
                        if (file != null && java.nio.file.Files.exists(file)
                                && !java.nio.file.Files.isRegularFile(file)) {
                            throw new ParameterException(this, "argument file " + a + " is not a file");
                        }
                    }
                }
                try {
                    return super.parseArgs(args);
                } catch (InitializationException e) {
                    Throwable cause = e.getCause();
                    String m = e.getMessage() == null ? "could not read an argument file" : e.getMessage();
                    if (cause != null) {
                        m = m.replace(cause.toString(), String.valueOf(cause.getMessage()));
                    }
                    throw new ParameterException(this, m.isEmpty() ? m
                            : Character.toLowerCase(m.charAt(0)) + m.substring(1), e);
                }
            }
        };
        for (CliExtension ext : java.util.ServiceLoader.load(CliExtension.class)) {
            cl.addSubcommand(ext.command());
        }
        // After the extensions: a converter reaches the subcommands present when it is registered.
        NumberOptions.register(cl);
        // Every usage mistake in one line with the nearest name, not the whole usage text.
        cl.setParameterExceptionHandler(new UsageErrors());
        cl.setExecutionExceptionHandler((e, cmd, parse) -> {
            // A user error gets one line naming what is wrong; JRESNET_DEBUG=1 adds the stack trace.
            String m = describe(e);
            cmd.getErr().println("jresnet: error: " + Terminal.safe(m.replace('\n', ' ')));
            if (System.getenv("JRESNET_DEBUG") != null) {
                e.printStackTrace(cmd.getErr());
            }
            return 2;
        });
        return cl;
    }

    /** The path of an "@file" argument, or null where it names none (a name the file system rejects). */
    private static java.nio.file.Path argumentFile(String name) {
        try {
            return java.nio.file.Path.of(name);
        } catch (java.nio.file.InvalidPathException e) {
            return null;
        }
    }

    /**
     * An exception's message as one line that names the file and the reason: the JDK's file errors carry only the
     * path as their message ("/etc/passwd" when a folder was to be made under a file), so the reason is added here.
     */
    static String describe(Exception e) {
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() == null && f.getFile() != null) {
            String reason;
            if (e instanceof java.nio.file.NoSuchFileException) {
                reason = "no such file or folder";
            } else if (e instanceof java.nio.file.FileAlreadyExistsException) {
                reason = java.nio.file.Files.isDirectory(java.nio.file.Path.of(f.getFile())) ? "already exists"
                        : "is a file where a folder is needed";
            } else if (e instanceof java.nio.file.AccessDeniedException) {
                reason = "permission denied";
            } else if (e instanceof java.nio.file.NotDirectoryException) {
                reason = "not a folder";
            } else if (e instanceof java.nio.file.DirectoryNotEmptyException) {
                reason = "is a folder that is not empty";
            } else {
                reason = e.getClass().getSimpleName();
            }
            return f.getFile() + (f.getOtherFile() != null ? " -> " + f.getOtherFile() : "") + ": " + reason;
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
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
