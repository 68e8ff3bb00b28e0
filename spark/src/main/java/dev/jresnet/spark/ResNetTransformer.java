package dev.jresnet.spark;

import dev.jresnet.resnet.FeatureLayer;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A Spark ML {@link Transformer} that classifies images or turns them into feature vectors with jresnet, on any
 * DataFrame with a column of image bytes ({@code spark.read.format("binaryFile")}'s {@code content}) or of paths. Each
 * executor JVM builds the model once, lazily, and shares it between its tasks ({@link ExecutorModels}); each partition
 * runs in batches of {@code batchSize}; a task with a GPU from Spark's scheduler runs on that GPU, else on the CPU
 * engine (the reason logged). An image that cannot be read gives nulls and a reason in {@code errorCol}; it never fails
 * the job.
 *
 * <p>Columns added. classify: {@code predictionCol} (int, the top-1 class index), {@code predictedLabelCol} (string,
 * its label), {@code topKCol} (array of struct index, label, probability, logit; best first). embed:
 * {@code embeddingCol} (array of float). Both: {@code errorCol} (string, null when the row has a result).
 */
public final class ResNetTransformer extends Transformer {
    private static final long serialVersionUID = 1L;
    static final StructType PREDICTION = new StructType()
            .add("index", DataTypes.IntegerType, false).add("label", DataTypes.StringType, true)
            .add("probability", DataTypes.DoubleType, false).add("logit", DataTypes.DoubleType, false);
    /** Largest batchSize: a batch holds this many crops and their activations. */
    static final int MAX_BATCH = 1024;

    private final String uid;
    private final Param<String> inputCol;
    private final Param<String> pathCol;
    private final Param<String> mode;
    private final IntParam topK;
    private final Param<String> layer;
    private final Param<String> weights;
    private final Param<String> architecture;
    private final Param<String> preset;
    private final LongParam seed;
    private final Param<String> device;
    private final IntParam batchSize;
    private final Param<String> predictionCol;
    private final Param<String> predictedLabelCol;
    private final Param<String> topKCol;
    private final Param<String> embeddingCol;
    private final Param<String> errorCol;

    public ResNetTransformer() {
        this(Identifiable$.MODULE$.randomUID("jresnet"));
    }

    public ResNetTransformer(String uid) {
        this.uid = uid;
        inputCol = new Param<>(this, "inputCol", "column of image bytes (binary) or of paths/URIs (string)");
        pathCol = new Param<>(this, "pathCol", "string column naming each image in error messages (absent: none)");
        mode = new Param<>(this, "mode", "classify or embed");
        topK = new IntParam(this, "topK", "classes per image, best first (classify; at most the model's classes)");
        layer = new Param<>(this, "layer", "embed: pool, or layer1..layer4 (the stage's output averaged over H, W)");
        weights = new Param<>(this, "weights", "weights file every executor can read; empty: seeded untrained");
        architecture = new Param<>(this, "architecture", "resnet18 .. resnext101_64x4d; empty: the weights'");
        preset = new Param<>(this, "preset", "torchvision-v1 or torchvision-v2; empty: the weights'");
        seed = new LongParam(this, "seed", "seed of the untrained weights");
        device = new Param<>(this, "device", "auto (the task's GPU, else the CPU), cpu or cuda (the task's GPU)");
        batchSize = new IntParam(this, "batchSize", "images per forward pass (1.." + MAX_BATCH + ")");
        predictionCol = new Param<>(this, "predictionCol", "output: top-1 class index (classify)");
        predictedLabelCol = new Param<>(this, "predictedLabelCol", "output: top-1 label (classify)");
        topKCol = new Param<>(this, "topKCol", "output: the top-K classes (classify)");
        embeddingCol = new Param<>(this, "embeddingCol", "output: the feature vector (embed)");
        errorCol = new Param<>(this, "errorCol", "output: why a row has no result, else null");
        setDefault(inputCol, "content");
        setDefault(pathCol, "path");
        setDefault(mode, "classify");
        setDefault(topK, 5);
        setDefault(layer, "pool");
        setDefault(weights, "");
        setDefault(architecture, "");
        setDefault(preset, "");
        setDefault(seed, 0L);
        setDefault(device, "auto");
        setDefault(batchSize, 32);
        setDefault(predictionCol, "prediction");
        setDefault(predictedLabelCol, "predicted_label");
        setDefault(topKCol, "top_k");
        setDefault(embeddingCol, "embedding");
        setDefault(errorCol, "error");
    }

    @Override
    public String uid() {
        return uid;
    }

    // ------------------------------------------------------------------ params (public: Spark finds them by reflection)

    public Param<String> inputCol() { return inputCol; }
    public Param<String> pathCol() { return pathCol; }
    public Param<String> mode() { return mode; }
    public IntParam topK() { return topK; }
    public Param<String> layer() { return layer; }
    public Param<String> weights() { return weights; }
    public Param<String> architecture() { return architecture; }
    public Param<String> preset() { return preset; }
    public LongParam seed() { return seed; }
    public Param<String> device() { return device; }
    public IntParam batchSize() { return batchSize; }
    public Param<String> predictionCol() { return predictionCol; }
    public Param<String> predictedLabelCol() { return predictedLabelCol; }
    public Param<String> topKCol() { return topKCol; }
    public Param<String> embeddingCol() { return embeddingCol; }
    public Param<String> errorCol() { return errorCol; }

    public ResNetTransformer setInputCol(String v) { set(inputCol, v); return this; }
    public ResNetTransformer setPathCol(String v) { set(pathCol, v); return this; }
    public ResNetTransformer setMode(String v) { set(mode, v); return this; }
    public ResNetTransformer setTopK(int v) { set(topK, v); return this; }
    public ResNetTransformer setLayer(String v) { set(layer, v); return this; }
    public ResNetTransformer setWeights(String v) { set(weights, v); return this; }
    public ResNetTransformer setArchitecture(String v) { set(architecture, v); return this; }
    public ResNetTransformer setPreset(String v) { set(preset, v); return this; }
    public ResNetTransformer setSeed(long v) { set(seed, v); return this; }
    public ResNetTransformer setDevice(String v) { set(device, v); return this; }
    public ResNetTransformer setBatchSize(int v) { set(batchSize, v); return this; }
    public ResNetTransformer setPredictionCol(String v) { set(predictionCol, v); return this; }
    public ResNetTransformer setPredictedLabelCol(String v) { set(predictedLabelCol, v); return this; }
    public ResNetTransformer setTopKCol(String v) { set(topKCol, v); return this; }
    public ResNetTransformer setEmbeddingCol(String v) { set(embeddingCol, v); return this; }
    public ResNetTransformer setErrorCol(String v) { set(errorCol, v); return this; }

    private String str(Param<String> p) {
        return (String) getOrDefault(p);
    }

    private int integer(IntParam p) {
        return (Integer) getOrDefault(p);
    }

    boolean classifies() {
        String m = str(mode).toLowerCase(Locale.ROOT);
        if (!m.equals("classify") && !m.equals("embed")) {
            throw new IllegalArgumentException("mode must be classify or embed, got \"" + str(mode) + "\"");
        }
        return m.equals("classify");
    }

    // ------------------------------------------------------------------ Transformer

    @Override
    public StructType transformSchema(StructType schema) {
        boolean classify = classifies();
        if (integer(topK) < 1) {
            throw new IllegalArgumentException("topK must be at least 1, got " + integer(topK));
        }
        if (integer(batchSize) < 1 || integer(batchSize) > MAX_BATCH) {
            throw new IllegalArgumentException("batchSize must be in 1.." + MAX_BATCH + ", got " + integer(batchSize));
        }
        FeatureLayer.fromId(str(layer));
        DeviceChoice.requireKnown(str(device));
        String in = str(inputCol);
        DataType t = field(schema, in).dataType();
        if (!t.equals(DataTypes.BinaryType) && !t.equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("inputCol \"" + in + "\" is " + t.simpleString() + ": it must hold image "
                    + "bytes (binary, as spark.read.format(\"binaryFile\") gives in \"content\") or paths (string)");
        }
        List<StructField> fields = new ArrayList<>(Arrays.asList(schema.fields()));
        if (classify) {
            fields.add(DataTypes.createStructField(str(predictionCol), DataTypes.IntegerType, true));
            fields.add(DataTypes.createStructField(str(predictedLabelCol), DataTypes.StringType, true));
            fields.add(DataTypes.createStructField(str(topKCol), new ArrayType(PREDICTION, false), true));
        } else {
            fields.add(DataTypes.createStructField(str(embeddingCol), new ArrayType(DataTypes.FloatType, false),
                    true));
        }
        fields.add(DataTypes.createStructField(str(errorCol), DataTypes.StringType, true));
        for (int i = schema.fields().length; i < fields.size(); i++) {
            String name = fields.get(i).name();
            if (Arrays.asList(schema.fieldNames()).contains(name)) {
                throw new IllegalArgumentException("output column \"" + name + "\" already exists in the input "
                        + schema.simpleString() + ": choose another name");
            }
        }
        return DataTypes.createStructType(fields);
    }

    private static StructField field(StructType schema, String name) {
        for (StructField f : schema.fields()) {
            if (f.name().equals(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("inputCol \"" + name + "\" is not a column of " + schema.simpleString());
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType schema = dataset.schema();
        StructType out = transformSchema(schema);
        int input = schema.fieldIndex(str(inputCol));
        int name = Arrays.asList(schema.fieldNames()).contains(str(pathCol))
                && schema.apply(str(pathCol)).dataType().equals(DataTypes.StringType) ? schema.fieldIndex(str(pathCol))
                : -1;
        InferenceSettings settings = new InferenceSettings(
                new ModelSpec(str(weights), str(architecture), str(preset), (Long) getOrDefault(seed)), str(device),
                classifies(), integer(topK), FeatureLayer.fromId(str(layer)), integer(batchSize), input,
                schema.apply(input).dataType().equals(DataTypes.StringType), name);
        SerializableConfiguration hadoop = new SerializableConfiguration(
                dataset.sparkSession().sparkContext().hadoopConfiguration());
        return dataset.toDF().mapPartitions(new PartitionInference(settings, hadoop), Encoders.row(out));
    }

    @Override
    public ResNetTransformer copy(ParamMap extra) {
        return defaultCopy(extra);
    }
}
