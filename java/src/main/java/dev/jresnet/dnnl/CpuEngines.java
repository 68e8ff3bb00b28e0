package dev.jresnet.dnnl;

import dev.jresnet.graph.CpuConvolution;
import dev.jresnet.graph.CpuEngine;
import dev.jresnet.graph.CpuInference;
import dev.jresnet.graph.Network;

import java.util.function.Supplier;

/**
 * Which CPU engine runs inference: oneDNN's native kernels ({@link DnnlInference}) where oneDNN is on the class path
 * and loads, else jresnet's Java kernels ({@link CpuInference}), and why. The system property {@value #PROPERTY}
 * chooses: {@code auto} (the default), {@code java}, or {@code onednn} (an error naming the reason where it cannot
 * load: never a silent fallback).
 */
public final class CpuEngines {
    public static final String PROPERTY = "jresnet.cpu.engine";

    /** The choice: oneDNN's or the Java engine, with the reason (for device descriptions). */
    public record Choice(boolean onednn, String reason) {
        /**
         * "CPU engine oneDNN 3.11.0, avx512_core_bf16 kernels (auto: ...)" or "CPU kernel vector-512bit-8x48, direct
         * convolution, ... (auto: oneDNN is not on the class path ...)".
         */
        public String describe() {
            return (onednn ? "CPU engine " + Dnnl.describe() : CpuInference.kernels(CpuConvolution.chosen())) + " ("
                    + reason + ")";
        }
    }

    private CpuEngines() {}

    /** What {@value #PROPERTY} asks for, given whether oneDNN loads here; IllegalStateException for a bad value. */
    public static Choice chosen() {
        return choose(System.getProperty(PROPERTY, "auto"), Dnnl::unavailableReason);
    }

    /** The choice for a property value, given why oneDNN cannot load (null when it can), asked only if needed. */
    static Choice choose(String value, Supplier<String> unavailable) {
        String v = value.trim();
        switch (v) {
            case "", "auto" -> {
                String why = unavailable.get();
                return why == null ? new Choice(true, "auto: oneDNN loads; " + PROPERTY + "=java for jresnet's Java "
                        + "kernels") : new Choice(false, "auto: " + why);
            }
            case "java" -> {
                return new Choice(false, PROPERTY + "=java");
            }
            case "onednn" -> {
                String why = unavailable.get();
                if (why != null) {
                    throw new IllegalStateException(PROPERTY + "=onednn: " + why);
                }
                return new Choice(true, PROPERTY + "=onednn");
            }
            default -> throw new IllegalStateException(PROPERTY + "=" + v + ": expected auto, java or onednn");
        }
    }

    /** The threads the chosen engine computes on: OpenMP's for oneDNN ({@link Dnnl#threads()}), else jresnet's pool. */
    public static int threads() {
        return chosen().onednn() ? Dnnl.threads() : dev.jresnet.cpu.Parallel.threads();
    }

    /** The chosen engine for {@code net}. */
    public static CpuEngine open(Network net) {
        return chosen().onednn() ? new DnnlInference(net) : new CpuInference(net);
    }
}
