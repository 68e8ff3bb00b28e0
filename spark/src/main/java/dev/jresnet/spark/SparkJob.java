package dev.jresnet.spark;

import picocli.CommandLine;

/**
 * The main class of the shaded jar for {@code spark-submit}: the arguments of {@code jresnet spark}, e.g.
 * {@code spark-submit --class dev.jresnet.spark.SparkJob jresnet-spark-job.jar classify hdfs:///photos --out
 * hdfs:///labels}. Errors are one line on stderr (JRESNET_DEBUG=1 adds the stack trace); the exit status is the
 * command's.
 */
public final class SparkJob {
    private SparkJob() {}

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new SparkCommand());
        cl.setExecutionExceptionHandler((e, cmd, parse) -> {
            cmd.getErr().println("jresnet: error: " + String.valueOf(e.getMessage()).replace('\n', ' '));
            if (System.getenv("JRESNET_DEBUG") != null) {
                e.printStackTrace(cmd.getErr());
            }
            return 2;
        });
        System.exit(cl.execute(args));
    }
}
