package dev.jresnet.train;

import dev.jresnet.io.FileChecks;
import dev.jresnet.tensor.DataType;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.weights.SafetensorsReader;
import dev.jresnet.weights.SafetensorsWriter;
import dev.jresnet.weights.WeightFormatException;
import dev.jresnet.weights.WeightSet;
import dev.jresnet.weights.WeightSets;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training checkpoint: the model's tensors, the optimizer's state, where training stands, and free-form
 * metadata, in one float32 safetensors file. Model tensors keep their names, optimizer tensors are under
 * {@value #OPTIMIZER_PREFIX}, and the training state is in the metadata ({@value #META_EPOCH}, ...), so the
 * weights can be read by anything that reads safetensors. The file is replaced atomically, so a crash while
 * saving leaves the previous checkpoint.
 *
 * <p>As read, {@code optimizerState} is keyed as {@link Optimizer#state()} returns it (prefix removed), ready for
 * {@link Optimizer#loadState}, and {@code metadata} holds every metadata entry of the file, the checkpoint's own
 * {@code jresnet.*} keys included.
 */
public record Checkpoint(Map<String, Tensor> weights, Map<String, Tensor> optimizerState, TrainingState state,
                         Map<String, String> metadata) {
    public static final String OPTIMIZER_PREFIX = "optimizer.";
    public static final String META_FORMAT = "jresnet.checkpoint";
    public static final String META_EPOCH = "jresnet.epoch";
    public static final String META_STEP = "jresnet.step";
    public static final String META_SEED = "jresnet.seed";
    public static final String META_BEST_VAL_TOP1 = "jresnet.best_val_top1";
    public static final String META_OPTIMIZER = "jresnet.optimizer";
    static final String FORMAT_VERSION = "1";
    /** The largest step a checkpoint may record: schedules count steps in an int. */
    public static final long MAX_STEP = Integer.MAX_VALUE;

    public Checkpoint {
        if (weights == null || optimizerState == null || state == null || metadata == null) {
            throw new IllegalArgumentException("checkpoint parts must not be null");
        }
        weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
        optimizerState = Collections.unmodifiableMap(new LinkedHashMap<>(optimizerState));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** The optimizer's description as written ({@link Optimizer#describe()}), to check a resume uses the same kind. */
    public String optimizer() {
        return metadata.get(META_OPTIMIZER);
    }

    public static void write(Path file, Map<String, Tensor> modelWeights, Optimizer optimizer, TrainingState state,
                             Map<String, String> metadata) throws IOException {
        if (modelWeights == null || modelWeights.isEmpty()) {
            throw new IllegalArgumentException(file + ": a checkpoint needs the model weights, got none");
        }
        if (optimizer == null || state == null) {
            throw new IllegalArgumentException(file + ": optimizer and training state must be given");
        }
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : modelWeights.entrySet()) {
            if (e.getKey().startsWith(OPTIMIZER_PREFIX)) {
                // It would be read back as optimizer state.
                throw new IllegalArgumentException(file + ": model tensor \"" + e.getKey() + "\" starts with the reserved prefix "
                        + OPTIMIZER_PREFIX);
            }
            entries.put(e.getKey(), entry(file, e.getKey(), e.getValue()));
        }
        for (Map.Entry<String, Tensor> e : optimizer.state().entrySet()) {
            String name = OPTIMIZER_PREFIX + e.getKey();
            entries.put(name, entry(file, name, e.getValue()));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        if (metadata != null) {
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (isReserved(e.getKey())) {
                    throw new IllegalArgumentException(file + ": metadata key \"" + e.getKey()
                            + "\" is reserved for the checkpoint's own fields");
                }
                meta.put(e.getKey(), e.getValue());
            }
        }
        meta.put(META_FORMAT, FORMAT_VERSION);
        meta.put(META_EPOCH, Integer.toString(state.epoch()));
        meta.put(META_STEP, Long.toString(state.step()));
        meta.put(META_SEED, Long.toString(state.seed()));
        meta.put(META_BEST_VAL_TOP1, Float.toString(state.bestValTop1()));
        meta.put(META_OPTIMIZER, optimizer.describe());
        SafetensorsWriter.write(file, new WeightSet(null, entries, Map.of()), DataType.F32, meta);
    }

    /**
     * Reads a checkpoint, refusing (naming the file, and the tensor or key) anything a resume would trip over later:
     * a NaN or infinite model or optimizer tensor (training would only "diverge"), a step beyond what a schedule
     * counts ({@value #MAX_STEP}), optimizer buffers that fit no model tensor.
     */
    public static Checkpoint read(Path file) throws IOException {
        FileChecks.requireRegularFile(file, "checkpoint");
        WeightSet set = SafetensorsReader.read(file);
        Map<String, String> meta = set.metadata();
        String format = require(file, meta, META_FORMAT);
        if (!format.equals(FORMAT_VERSION)) {
            throw new WeightFormatException(file + ": checkpoint format " + META_FORMAT + "=\"" + format
                    + "\" is not supported (expected " + FORMAT_VERSION + ")");
        }
        TrainingState state;
        try {
            state = new TrainingState(
                    (int) count(file, meta, META_EPOCH, Integer.MAX_VALUE),
                    count(file, meta, META_STEP, MAX_STEP),
                    Long.parseLong(require(file, meta, META_SEED)),
                    Float.parseFloat(require(file, meta, META_BEST_VAL_TOP1)));
        } catch (WeightFormatException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new WeightFormatException(file + ": bad training state in the checkpoint metadata: " + e.getMessage(), e);
        }
        require(file, meta, META_OPTIMIZER);

        WeightSets.requireFinite(set);
        Map<String, Tensor> weights = new LinkedHashMap<>();
        Map<String, Tensor> optimizerState = new LinkedHashMap<>();
        for (WeightSet.Entry e : set.entries().values()) {
            if (e.floats() == null || e.storedType() != DataType.F32) {
                throw new WeightFormatException(file + ": tensor \"" + e.name() + "\" is " + e.storedType()
                        + "; a checkpoint holds float32 only");
            }
            Tensor t = e.floats().reshape(e.dims());
            if (e.name().startsWith(OPTIMIZER_PREFIX)) {
                optimizerState.put(e.name().substring(OPTIMIZER_PREFIX.length()), t);
            } else {
                weights.put(e.name(), t);
            }
        }
        if (weights.isEmpty()) {
            throw new WeightFormatException(file + ": checkpoint holds no model tensors");
        }
        if (!optimizerState.containsKey(OptimizerState.STEP_KEY)) {
            throw new WeightFormatException(file + ": tensor \"" + OPTIMIZER_PREFIX + OptimizerState.STEP_KEY
                    + "\" (the optimizer's step count) is missing");
        }
        checkOptimizerStateMatchesWeights(file, weights, optimizerState);
        return new Checkpoint(weights, optimizerState, state, meta);
    }

    /** Every per-parameter buffer must belong to a model tensor of its shape, or a resume would fail much later. */
    private static void checkOptimizerStateMatchesWeights(Path file, Map<String, Tensor> weights,
                                                          Map<String, Tensor> optimizerState) throws WeightFormatException {
        for (Map.Entry<String, Tensor> e : optimizerState.entrySet()) {
            String key = e.getKey();
            int dot = key.lastIndexOf('.');
            if (dot <= 0) {
                continue;
            }
            String param = key.substring(0, dot);
            Tensor w = weights.get(param);
            if (w == null) {
                throw new WeightFormatException(file + ": optimizer tensor \"" + OPTIMIZER_PREFIX + key
                        + "\" belongs to parameter \"" + param + "\", which the checkpoint does not hold");
            }
            boolean scalar = e.getValue().size() == 1 && key.endsWith("." + AdamW.STEP);
            if (!scalar && !e.getValue().shape().equals(w.shape())) {
                throw new WeightFormatException(file + ": optimizer tensor \"" + OPTIMIZER_PREFIX + key + "\" has shape "
                        + e.getValue().shape() + " but parameter \"" + param + "\" has shape " + w.shape());
            }
        }
    }

    /** A whole number in [0, max] from the metadata, or an error naming the key and the value. */
    private static long count(Path file, Map<String, String> meta, String key, long max) throws WeightFormatException {
        String v = require(file, meta, key);
        try {
            long n = Long.parseLong(v.strip());
            if (n >= 0 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below, with the range
        }
        String shown = v.length() > 40 ? v.substring(0, 40) + "..." : v;
        throw new WeightFormatException(file + ": checkpoint metadata " + key + " = \"" + shown
                + "\" is not a whole number in [0, " + max + "]");
    }

    private static boolean isReserved(String key) {
        return key.equals(META_FORMAT) || key.equals(META_EPOCH) || key.equals(META_STEP) || key.equals(META_SEED)
                || key.equals(META_BEST_VAL_TOP1) || key.equals(META_OPTIMIZER);
    }

    private static String require(Path file, Map<String, String> meta, String key) throws WeightFormatException {
        String v = meta.get(key);
        if (v == null) {
            throw new WeightFormatException(file + ": not a jresnet checkpoint or incomplete: metadata key \"" + key
                    + "\" is missing");
        }
        return v;
    }

    private static WeightSet.Entry entry(Path file, String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(file + ": tensor \"" + name + "\" is null");
        }
        return new WeightSet.Entry(name, DataType.F32, t, null, t.shape().dims());
    }
}
