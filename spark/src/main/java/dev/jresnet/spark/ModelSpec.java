package dev.jresnet.spark;

import dev.jresnet.graph.Architecture;
import dev.jresnet.image.Preset;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * What model an executor builds: the weights file (a path every executor can read: a shared file system, or shipped
 * with {@code spark-submit --files}; empty for the seeded untrained weights), architecture and preset (empty: from
 * the weights), and the seed of untrained weights. Serializable and a value (equals/hashCode): the key of
 * {@link ExecutorModels}, so tasks asking for the same model on the same device share one.
 */
public record ModelSpec(String weights, String architecture, String preset, long seed) implements Serializable {
    public ModelSpec {
        weights = weights == null ? "" : weights;
        architecture = architecture == null ? "" : architecture;
        preset = preset == null ? "" : preset;
    }

    /** Builds the model on {@code device}: the engine's own errors (a missing file, a bad architecture) pass through. */
    ResNet build(Device device) throws IOException {
        ResNet.Builder b = ResNet.builder().device(device).seed(seed);
        if (!weights.isEmpty()) {
            b.weights(Path.of(weights));
        }
        if (!architecture.isEmpty()) {
            b.architecture(Architecture.of(architecture));
        }
        if (!preset.isEmpty()) {
            b.preset(Preset.fromName(preset));
        }
        return b.build();
    }

    /** "resnet50 weights /data/m.safetensors" or "untrained resnet50 (seed 0)", for log lines. */
    String describe() {
        String arch = architecture.isEmpty() ? "" : architecture + " ";
        return weights.isEmpty() ? "untrained " + (arch.isEmpty() ? "resnet50 " : arch) + "(seed " + seed + ")"
                : arch + "weights " + weights;
    }
}
