package dev.jresnet.spark;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

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
        try {
            Class.forName("org.apache.spark.sql.SparkSession", false, SparkCommand.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("Apache Spark is not on the classpath: run `jresnet spark` through ./jresnet "
                    + "in a checkout where module spark is built (mvn -pl spark -am package), or submit "
                    + "spark/target/jresnet-spark-job.jar with spark-submit (README, \"Spark\")");
        }
        return SparkRun.run(this, spec.commandLine().getOut(), spec.commandLine().getErr());
    }
}
