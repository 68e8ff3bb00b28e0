package dev.jresnet.spark;

import org.apache.spark.sql.SparkSession;

/** The test classes' Spark: local[2], no UI, two shuffle partitions, bound to the loopback interface. */
final class TestSession {
    private TestSession() {}

    static SparkSession start(String name) {
        return SparkSession.builder().appName(name).master("local[2]")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .getOrCreate();
    }

    static void stop(SparkSession spark) {
        if (spark != null) {
            spark.stop();
        }
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
    }
}
