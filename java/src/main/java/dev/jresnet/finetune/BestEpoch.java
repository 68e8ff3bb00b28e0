package dev.jresnet.finetune;

import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.Linear;
import dev.jresnet.nn.NetworkSpec;
import dev.jresnet.nn.Step;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.EpochMetrics;
import dev.jresnet.train.Unfreeze;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The epoch whose weights the model file gets: the best validation top-1, ties to the lower validation loss, then
 * to the earlier epoch (a later epoch must be better to win, not as good). Without a validation set every epoch
 * wins, i.e. the last is kept. Only the tensors training can change are copied (those of the stages from
 * {@link Unfreeze} on, running statistics included); the frozen prefix is the same in every epoch.
 */
final class BestEpoch {
    /** Checkpoint tensors under this prefix hold the kept epoch's trainable tensors when it is not the last. */
    static final String PREFIX = "best.";

    private final Set<String> trained;
    private EpochMetrics metrics;
    private Map<String, Tensor> snapshot; // null: the kept epoch's weights are the current ones

    BestEpoch(NetworkSpec spec, Unfreeze unfreeze) {
        this.trained = trainedTensors(spec, unfreeze);
    }

    /** Every tensor of the stages from {@code unfreeze} on: what one epoch can change. */
    static Set<String> trainedTensors(NetworkSpec spec, Unfreeze unfreeze) {
        Set<String> out = new LinkedHashSet<>();
        int first = spec.stage(unfreeze.firstStage()).firstStep();
        for (Step s : spec.steps().subList(first, spec.steps().size())) {
            if (s instanceof ConvBn c) {
                out.add(c.weight());
                out.add(c.gamma());
                out.add(c.beta());
                out.add(c.runningMean());
                out.add(c.runningVar());
            } else if (s instanceof Linear l) {
                out.add(l.weight());
                out.add(l.bias());
            }
        }
        return out;
    }

    /** Whether {@code m} beats the kept epoch (always without a validation set). */
    boolean better(EpochMetrics m) {
        if (metrics == null || Double.isNaN(m.valTop1())) {
            return true;
        }
        if (m.valTop1() != metrics.valTop1()) {
            return m.valTop1() > metrics.valTop1();
        }
        return m.valLoss() < metrics.valLoss();
    }

    /**
     * Hears an epoch that has ended (its weights are the current ones). A better one becomes the kept epoch; its
     * tensors are copied only by {@link #beforeEpoch}, so a run whose last epoch is its best copies nothing then.
     */
    void epochEnded(EpochMetrics m) {
        if (better(m)) {
            metrics = m;
            snapshot = null; // the current weights are the kept ones
        }
    }

    /**
     * Called before an epoch changes the weights: copies the kept epoch's trainable tensors if they are the
     * current ones, so the coming epoch cannot lose them. {@code weights}: the model's tensors by name.
     */
    void beforeEpoch(Supplier<Map<String, Tensor>> weights) {
        if (metrics != null && snapshot == null) {
            snapshot = copy(weights.get());
        }
    }

    private Map<String, Tensor> copy(Map<String, Tensor> weights) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : trained) {
            Tensor t = weights.get(name);
            if (t == null) {
                throw new IllegalStateException("trainable tensor " + name + " is not among the model's weights");
            }
            out.put(name, t.copy());
        }
        return out;
    }

    /** The kept epoch's metrics, or null before any epoch. */
    EpochMetrics metrics() {
        return metrics;
    }

    /** The model to write: {@code current} with the kept epoch's tensors where they differ from the current ones. */
    Map<String, Tensor> model(Map<String, Tensor> current) {
        if (snapshot == null) {
            return current;
        }
        Map<String, Tensor> out = new LinkedHashMap<>(current);
        out.putAll(snapshot);
        return out;
    }

    /** The checkpoint's extra tensors ({@link #PREFIX} + name): the kept epoch's when they are not the current ones. */
    Map<String, Tensor> checkpointTensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (snapshot != null) {
            snapshot.forEach((k, v) -> out.put(PREFIX + k, v));
        }
        return out;
    }

    /**
     * Restores the state a checkpoint recorded: {@code kept} (null when none) and its tensors from {@code
     * checkpointTensors} (empty when the kept epoch is the checkpoint's own).
     */
    void restore(EpochMetrics kept, Map<String, Tensor> checkpointTensors) {
        metrics = kept;
        if (checkpointTensors.isEmpty()) {
            snapshot = null;
            return;
        }
        Map<String, Tensor> s = new LinkedHashMap<>();
        checkpointTensors.forEach((k, v) -> s.put(k.substring(PREFIX.length()), v));
        if (!s.keySet().equals(trained)) {
            throw new IllegalArgumentException("the checkpoint's kept-epoch tensors (" + s.size() + ") are not the "
                    + trained.size() + " trainable tensors of this run");
        }
        snapshot = s;
    }
}
