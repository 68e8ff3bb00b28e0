package dev.jresnet.weights;

import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Tensor;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named tensors read from a weight file, in file order, plus the file's string metadata.
 * Floating-point tensors are widened to float32; integer tensors (num_batches_tracked) keep their
 * values in {@link Entry#longs()}.
 */
public final class WeightSet {
    /** One tensor: its name, the dtype it was stored as, and its values (exactly one of floats/longs set). */
    public record Entry(String name, DataType storedType, Tensor floats, long[] longs, int[] dims) {}

    private final Path source;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    public WeightSet(Path source, Map<String, Entry> entries, Map<String, String> metadata) {
        this.source = source;
        this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** The file these came from (null when built in memory). */
    public Path source() {
        return source;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }
}
