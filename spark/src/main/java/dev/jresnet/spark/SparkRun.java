package dev.jresnet.spark;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The job of {@link SparkCommand}, apart from it so that the CLI can list the command (picocli reads its methods)
 * where Spark is not on the classpath.
 */
final class SparkRun {
    private SparkRun() {}

    static int run(SparkCommand c, PrintWriter stdout, PrintWriter err) {
        boolean had = SparkSession.getDefaultSession().isDefined() || SparkSession.getActiveSession().isDefined();
        SparkSession spark = session(c);
        try {
            ResNetTransformer t = new ResNetTransformer().setMode(c.mode.name()).setTopK(c.top).setLayer(c.layer)
                    .setWeights(orEmpty(c.weights)).setArchitecture(orEmpty(c.arch)).setPreset(orEmpty(c.preset))
                    .setSeed(c.seed).setDevice(c.device).setBatchSize(c.batch);
            Dataset<Row> images = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
                    .option("pathGlobFilter", SparkCommand.IMAGES).load(c.input);
            Dataset<Row> result = t.transform(images);
            List<String> columns = new ArrayList<>(List.of("path"));
            columns.addAll(c.mode == SparkCommand.Mode.classify ? List.of("prediction", "predicted_label", "top_k")
                    : List.of("embedding"));
            columns.add("error");
            long t0 = System.nanoTime();
            Dataset<Row> selected = result.select(columns.stream().map(functions::col).toArray(Column[]::new));
            // JSON: every key on every line, a null error too (Spark leaves out null fields by default)
            selected.write().mode(SaveMode.ErrorIfExists).format(c.format.name()).option("ignoreNullFields", "false")
                    .save(c.out);
            double seconds = (System.nanoTime() - t0) / 1e9;
            // Counted from what was written (a small re-read with the written schema): the job itself ran once.
            Dataset<Row> written = spark.read().schema(selected.schema()).format(c.format.name()).load(c.out);
            long rows = written.count();
            Dataset<Row> bad = written.filter(functions.col("error").isNotNull());
            long failed = bad.count();
            stdout.printf(Locale.ROOT, "wrote %d rows (%d images, %d could not be read) to %s (%s) in %.1f s: "
                    + "%.1f images/s on %s%n", rows, rows - failed, failed, c.out, c.format, seconds, rows / seconds,
                    spark.sparkContext().master());
            stdout.flush();
            for (Row r : bad.select("path", "error").limit(20).collectAsList()) {
                err.println("jresnet: cannot " + c.mode + " " + r.getString(0) + ": " + r.getString(1));
            }
            if (failed > 20) {
                err.println("jresnet: ... and " + (failed - 20) + " more: the error column of " + c.out);
            }
            err.flush();
            return rows == 0 ? 2 : failed == 0 ? 0 : 1;
        } finally {
            if (!had) {
                spark.stop();
            }
        }
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    /** The running session (tests, a notebook), else a new one on --master, spark-submit's master, or local[*]. */
    private static SparkSession session(SparkCommand c) {
        SparkSession.Builder b = SparkSession.builder().appName("jresnet " + c.mode);
        if (System.getProperty("spark.master") == null) {
            // Not under spark-submit: a CLI run, whose terminal gets Spark's warnings and progress bar, not its INFO log.
            if (System.getProperty("log4j2.configurationFile") == null) {
                System.setProperty("log4j2.configurationFile", "dev/jresnet/spark/log4j2-cli.properties");
            }
            b.master(c.master != null ? c.master : "local[*]").config("spark.ui.showConsoleProgress", "true");
        } else if (c.master != null) {
            b.master(c.master);
        }
        return b.getOrCreate();
    }
}
