package dev.jresnet.bench;

import dev.jresnet.cli.CliExtension;

/** Contributes {@code jresnet bench} to the CLI (registered in META-INF/services). */
public final class BenchExtension implements CliExtension {
    @Override
    public Object command() {
        return new BenchCommand();
    }
}
