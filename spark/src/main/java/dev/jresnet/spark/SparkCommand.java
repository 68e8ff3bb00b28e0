package dev.jresnet.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code jresnet spark classify|embed INPUT --out DIR}: the {@link ResNetTransformer} over
 * {@code spark.read.format("binaryFile")} of INPUT (a folder, read recursively, or a glob; images by extension),
 * written as Parquet or JSON with Spark's committer (a failed or killed job leaves no partial output folder). In
 * local mode inside this JVM by default; under {@code spark-submit} ({@link SparkJob}) on the cluster it was given.
 */
@Command(name = "spark", mixinStandardHelpOptions = true,
        description = "Classify or embed images with Apache Spark: in local mode here, or on a cluster through "
                + "spark-submit (module spark, README \"Spark\").")
public final class SparkCommand implements Callable<Integer> {
    public enum Mode { classify, embed }

    public enum Format { parquet, json }

    /** Image names binaryFile reads (Hadoop glob, both cases): the decoders' formats. */
    static final String IMAGES = "*.{png,PNG,jpg,JPG,jpeg,JPEG,gif,GIF,bmp,BMP,tif,TIF,tiff,TIFF}";

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODE", description = "classify or embed.")
    Mode mode;

    @Parameters(index = "1", paramLabel = "INPUT", description = "A folder (read recursively), a file or a glob, on "
            + "any file system Spark reads (file:, hdfs:, s3a:, ...).")
    String input;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (must not exist).")
    String out;

    @Option(names = "--format", paramLabel = "F", defaultValue = "parquet",
            description = "parquet or json (JSON lines). Default: ${DEFAULT-VALUE}.")
    Format format;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master. Default: spark-submit's, else "
            + "local[*] (this JVM, every core).")
    String master;

    @Option(names = "--weights", paramLabel = "FILE", description = "Weights every executor can read. Default: the "
            + "seeded untrained weights.")
    String weights;

    @Option(names = "--arch", paramLabel = "NAME", description = "Architecture. Default: the weights', else resnet50.")
    String arch;

    @Option(names = "--preset", paramLabel = "NAME", description = "torchvision-v1 or torchvision-v2. Default: the "
            + "weights'.")
    String preset;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the untrained weights. Default: "
            + "${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = "auto (each task's GPU from "
            + "spark.task.resource.gpu.amount, else the CPU), cpu or cuda. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--batch", defaultValue = "32", description = "Images per forward pass. Default: "
            + "${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--top", defaultValue = "5", description = "classify: classes per image. Default: "
            + "${DEFAULT-VALUE}.")
    int top;

    @Option(names = "--layer", defaultValue = "pool", description = "embed: pool or layer1..layer4 (the stage's "
            + "output averaged over H and W; CPU only). Default: ${DEFAULT-VALUE}.")
    String layer;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();
        boolean had = SparkSession.getDefaultSession().isDefined() || SparkSession.getActiveSession().isDefined();
        SparkSession spark = session();
        try {
            ResNetTransformer t = new ResNetTransformer().setMode(mode.name()).setTopK(top).setLayer(layer)
                    .setWeights(orEmpty(weights)).setArchitecture(orEmpty(arch)).setPreset(orEmpty(preset)).setSeed(seed).setDevice(device)
                    .setBatchSize(batch);
            Dataset<Row> images = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
                    .option("pathGlobFilter", IMAGES).load(input);
            Dataset<Row> result = t.transform(images);
            List<String> columns = new ArrayList<>(List.of("path"));
            columns.addAll(mode == Mode.classify ? List.of("prediction", "predicted_label", "top_k")
                    : List.of("embedding"));
            columns.add("error");
            long t0 = System.nanoTime();
            result.select(columns.stream().map(functions::col).toArray(org.apache.spark.sql.Column[]::new))
                    .write().mode(SaveMode.ErrorIfExists).format(format.name()).save(out);
            double seconds = (System.nanoTime() - t0) / 1e9;
            // Counted from what was written (a small re-read): the job itself ran once.
            Dataset<Row> written = spark.read().format(format.name()).load(out);
            long rows = written.count();
            long failed = written.filter(functions.col("error").isNotNull()).count();
            stdout.printf(Locale.ROOT, "wrote %d rows (%d images, %d could not be read) to %s (%s) in %.1f s: "
                    + "%.1f images/s on %s%n", rows, rows - failed, failed, out, format, seconds, rows / seconds,
                    spark.sparkContext().master());
            stdout.flush();
            if (failed > 0) {
                for (Row r : written.filter(functions.col("error").isNotNull()).select("path", "error").limit(20)
                        .collectAsList()) {
                    err.println("jresnet: cannot " + mode + " " + r.getString(0) + ": " + r.getString(1));
                }
                err.flush();
            }
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
    private SparkSession session() {
        SparkSession.Builder b = SparkSession.builder().appName("jresnet " + mode);
        if (System.getProperty("spark.master") == null) {
            // Not under spark-submit: a CLI run, whose terminal gets Spark's warnings and progress bar, not its INFO log.
            if (System.getProperty("log4j2.configurationFile") == null) {
                System.setProperty("log4j2.configurationFile", "dev/jresnet/spark/log4j2-cli.properties");
            }
            b.master(master != null ? master : "local[*]").config("spark.ui.showConsoleProgress", "true");
        } else if (master != null) {
            b.master(master);
        }
        return b.getOrCreate();
    }
}
