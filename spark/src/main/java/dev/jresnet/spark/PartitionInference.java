package dev.jresnet.spark;

import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;
import dev.jresnet.resnet.Prediction;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * One partition's inference: rows are read {@code batchSize} at a time, each image decoded and cropped (the full
 * image dropped at once), the batch's crops run through this executor's shared model, and every input row comes out
 * once, in order, with the result columns appended: the top-K (classify) or the feature vector (embed), or nulls and
 * the reason in the error column for an image that could not be read. A partition without rows never loads a model.
 */
final class PartitionInference implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final InferenceSettings s;
    private final SerializableConfiguration hadoop;

    PartitionInference(InferenceSettings settings, SerializableConfiguration hadoop) {
        this.s = settings;
        this.hadoop = hadoop;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        if (!rows.hasNext()) {
            return Collections.emptyIterator();
        }
        TaskContext task = TaskContext.get();
        DeviceChoice choice = DeviceChoice.choose(s.device(),
                task == null ? java.util.Map.of() : scala.jdk.javaapi.CollectionConverters.asJava(task.resources()),
                dev.jresnet.cuda.CudaAvailability::backendStatus);
        ResNet model = ExecutorModels.get(s.model(), choice);
        return new Iterator<>() {
            private Iterator<Row> batch = Collections.emptyIterator();

            @Override
            public boolean hasNext() {
                if (!batch.hasNext() && rows.hasNext()) {
                    batch = run(model, take(rows)).iterator();
                }
                return batch.hasNext();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return batch.next();
            }
        };
    }

    private List<Row> take(Iterator<Row> rows) {
        List<Row> batch = new ArrayList<>(s.batchSize());
        while (rows.hasNext() && batch.size() < s.batchSize()) {
            batch.add(rows.next());
        }
        return batch;
    }

    /** The batch's rows with their results appended. */
    private List<Row> run(ResNet model, List<Row> batch) {
        int n = batch.size();
        RgbImage[] crops = new RgbImage[n];
        String[] errors = new String[n];
        List<RgbImage> good = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Row r = batch.get(i);
            try {
                crops[i] = model.crop(decode(r));
                good.add(crops[i]);
            } catch (Exception | OutOfMemoryError e) {
                errors[i] = reason(e, name(r));
            }
        }
        Object[][] results = new Object[n][];
        if (!good.isEmpty()) {
            try {
                Object[][] done = s.classify() ? classify(model, good) : embed(model, good);
                for (int i = 0, g = 0; i < n; i++) {
                    if (crops[i] != null) {
                        results[i] = done[g++];
                    }
                }
            } catch (RuntimeException | OutOfMemoryError e) {
                // the batch failed as a whole: each of its images says why, the partition goes on
                String why = "its batch failed: " + reason(e, "");
                for (int i = 0; i < n; i++) {
                    if (crops[i] != null) {
                        errors[i] = why;
                    }
                }
            }
        }
        List<Row> out = new ArrayList<>(n);
        int extra = s.classify() ? 4 : 2;
        for (int i = 0; i < n; i++) {
            Row r = batch.get(i);
            Object[] values = Arrays.copyOf(rowValues(r), r.length() + extra);
            Object[] result = errors[i] == null ? results[i] : null;
            if (result != null && result.length == 1 && result[0] instanceof String bad) {
                errors[i] = bad;  // not finite
                result = null;
            }
            for (int j = 0; j < extra - 1; j++) {
                values[r.length() + j] = result == null ? null : result[j];
            }
            values[r.length() + extra - 1] = errors[i];
            out.add(RowFactory.create(values));
        }
        return out;
    }

    /** Per crop: {top-1 index, top-1 label, top-K rows}, or {reason} when its logits are not finite. */
    private Object[][] classify(ResNet model, List<RgbImage> crops) {
        Tensor logits = model.logitsOfCrops(crops);
        int classes = logits.dim(1), k = Math.min(s.topK(), classes);
        Object[][] out = new Object[crops.size()][];
        for (int i = 0; i < crops.size(); i++) {
            String bad = ResNet.nonFinite(logits, i);
            if (bad != null) {
                out[i] = new Object[] {bad};
                continue;
            }
            Tensor row = new Tensor(Shape.of(1, classes), Arrays.copyOfRange(logits.data(), i * classes,
                    (i + 1) * classes));
            List<Prediction> top = model.topK(row, k).get(0);
            List<Row> rows = new ArrayList<>(k);
            for (Prediction p : top) {
                rows.add(RowFactory.create(p.index(), p.label(), (double) p.probability(), (double) p.logit()));
            }
            // an array column's value in a Row is a Scala Seq
            out[i] = new Object[] {top.get(0).index(), top.get(0).label(),
                    scala.jdk.javaapi.CollectionConverters.asScala(rows).toSeq()};
        }
        return out;
    }

    /** Per crop: {vector}, or {reason} when it is not finite. */
    private Object[][] embed(ResNet model, List<RgbImage> crops) {
        float[][] f = model.featuresOfCrops(crops, s.layer());
        Object[][] out = new Object[f.length][];
        for (int i = 0; i < f.length; i++) {
            boolean finite = true;
            for (float v : f[i]) {
                finite &= Float.isFinite(v);
            }
            out[i] = finite ? new Object[] {f[i]} : new Object[] {"the features are not finite: the weights overflow "
                    + "float32 on this input"};
        }
        return out;
    }

    private RgbImage decode(Row r) throws IOException {
        if (r.isNullAt(s.inputIndex())) {
            throw new IOException("the input column is null");
        }
        String name = name(r);
        if (!s.inputIsPath()) {
            return ImageDecoder.decode((byte[]) r.get(s.inputIndex()), name);
        }
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(r.getString(s.inputIndex()));
        Configuration conf = hadoop.value();
        FileSystem fs = p.getFileSystem(conf);
        try (FSDataInputStream in = fs.open(p)) {
            return ImageDecoder.decode(in, name);
        }
    }

    private String name(Row r) {
        if (s.nameIndex() >= 0 && !r.isNullAt(s.nameIndex())) {
            return r.getString(s.nameIndex());
        }
        return s.inputIsPath() && !r.isNullAt(s.inputIndex()) ? r.getString(s.inputIndex()) : "<image bytes>";
    }

    private static Object[] rowValues(Row r) {
        Object[] v = new Object[r.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.get(i);
        }
        return v;
    }

    /** The reason in one line, without the image's name that the engine's messages start with. */
    static String reason(Throwable e, String name) {
        String m = e instanceof OutOfMemoryError ? "not enough memory to read it (" + e.getMessage() + ")"
                : e.getMessage() != null ? e.getMessage() : e.toString();
        if (!name.isEmpty() && m.startsWith(name + ": ")) {
            m = m.substring(name.length() + 2);
        }
        return m.replace('\n', ' ');
    }
}
