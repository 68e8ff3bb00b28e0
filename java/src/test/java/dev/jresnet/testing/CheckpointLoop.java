package dev.jresnet.testing;

import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.Checkpoint;
import dev.jresnet.train.Parameter;
import dev.jresnet.train.Sgd;
import dev.jresnet.train.TrainingState;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Child process of the kill test: writes the checkpoint {@code args[0]} over and over, epoch 1, 2, ..., each with
 * its model tensor filled with the epoch number (2M floats: a 16 MB file with the momentum buffer), until killed.
 */
public final class CheckpointLoop {
    public static final int ELEMENTS = 1 << 21;

    private CheckpointLoop() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        Tensor w = Tensor.zeros(ELEMENTS);
        Sgd sgd = new Sgd(0.9f, 0f, false);
        sgd.step(List.of(new Parameter("fc.weight", w, Tensor.zeros(ELEMENTS))), 0.1f); // the state exists
        for (int epoch = 1; ; epoch++) {
            Arrays.fill(w.data(), epoch);
            Checkpoint.write(file, Map.of("fc.weight", w), sgd, new TrainingState(epoch, epoch, 0, 0f), Map.of());
            System.out.println("wrote epoch " + epoch);
        }
    }
}
