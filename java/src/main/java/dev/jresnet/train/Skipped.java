package dev.jresnet.train;

import java.nio.file.Path;

/** A sample the loader left out because its file could not be decoded, and why. */
public record Skipped(Path file, String reason) {}
