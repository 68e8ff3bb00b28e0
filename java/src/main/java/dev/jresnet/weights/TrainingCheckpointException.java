package dev.jresnet.weights;

import java.nio.file.Path;

/**
 * A training checkpoint given where a model's weights are expected. The file reads as safetensors, but it is the
 * state of an unfinished fine-tuning run (model, optimizer state, progress), written for resuming it; the model to
 * classify with is the output fine-tuning wrote. A subclass so that the CLI can say it with its own option names.
 */
public class TrainingCheckpointException extends WeightFormatException {
    private final transient Path file;

    public TrainingCheckpointException(String message, Path file) {
        super(message);
        this.file = file;
    }

    /** The checkpoint file. */
    public Path file() {
        return file;
    }
}
