package dev.jresnet.cli;

/**
 * A subcommand contributed by another module (the bench module's {@code bench}), found with
 * {@link java.util.ServiceLoader} so that what only the benchmarks need (ONNX Runtime, JFreeChart) stays
 * out of the engine's dependencies. Register an implementation in
 * {@code META-INF/services/dev.jresnet.cli.CliExtension}.
 */
public interface CliExtension {
    /** A picocli {@code @Command}-annotated object. */
    Object command();
}
