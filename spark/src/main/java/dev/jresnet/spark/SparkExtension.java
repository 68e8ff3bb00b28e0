package dev.jresnet.spark;

import dev.jresnet.cli.CliExtension;

/** Contributes {@code jresnet spark} to the CLI when this module is on the classpath (META-INF/services). */
public final class SparkExtension implements CliExtension {
    @Override
    public Object command() {
        return new SparkCommand();
    }
}
