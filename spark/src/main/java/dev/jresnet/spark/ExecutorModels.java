package dev.jresnet.spark;

import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The models of this JVM (an executor's, or the driver's in local mode): one per (model, device), built by the first
 * task that needs it and shared by every later and concurrent task (a {@link ResNet} is thread-safe; on CUDA each
 * call borrows an execution context), closed when the JVM shuts down. So an executor with 8 task slots holds one copy
 * of the weights, not 8, and a model is loaded once per executor, not once per partition.
 */
public final class ExecutorModels {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorModels.class);
    private record Key(ModelSpec spec, Device.Kind kind, int index) {}

    private static final Map<Key, ResNet> MODELS = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "jresnet-models-close"));
    }

    private ExecutorModels() {}

    /** This JVM's model for {@code spec} on {@code choice}'s device, built (and logged) on first use. */
    static ResNet get(ModelSpec spec, DeviceChoice choice) {
        Device d = choice.device();
        return MODELS.computeIfAbsent(new Key(spec, d.kind(), d.index()), k -> {
            try {
                ResNet m = spec.build(d);
                LOADS.incrementAndGet();
                LOG.info("jresnet: loaded {} on {} ({}): {}", spec.describe(), m.deviceDescription(), choice.reason(),
                        m.isPretrained() ? "pretrained" : "UNTRAINED, its predictions are meaningless");
                if (d.kind() == Device.Kind.CPU && !choice.reason().equals("device=cpu")) {
                    LOG.warn("jresnet: running on the CPU engine: {}", choice.reason());
                }
                return m;
            } catch (IOException e) {
                throw new UncheckedIOException(e.getMessage(), e);
            }
        });
    }

    /** Models built in this JVM since it started (or since {@link #closeAll}): how tests count loads. */
    public static int loads() {
        return LOADS.get();
    }

    /** Closes and forgets every model (the shutdown hook; tests between runs). */
    public static synchronized void closeAll() {
        for (ResNet m : MODELS.values()) {
            m.close();
        }
        MODELS.clear();
        LOADS.set(0);
    }
}
