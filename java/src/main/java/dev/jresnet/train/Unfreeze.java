package dev.jresnet.train;

import java.util.Locale;

/**
 * The first trainable stage of a fine-tuning run: it and every stage after it train, everything before it is
 * frozen (runs in inference mode and keeps its weights). Stages are those of {@code dev.jresnet.graph.ResNets}.
 */
public enum Unfreeze {
    FC("fc"), LAYER4("layer4"), LAYER3("layer3"), LAYER2("layer2"), LAYER1("layer1"), ALL("stem");

    private final String firstStage;

    Unfreeze(String firstStage) {
        this.firstStage = firstStage;
    }

    /** The description's stage where training starts: fc, layer4, ..., layer1, or stem (all). */
    public String firstStage() {
        return firstStage;
    }

    /** fc, layer4, layer3, layer2, layer1 or all. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Unfreeze parse(String s) {
        for (Unfreeze u : values()) {
            if (u.id().equalsIgnoreCase(s == null ? "" : s.strip())) {
                return u;
            }
        }
        throw new IllegalArgumentException("unfreeze must be one of fc, layer4, layer3, layer2, layer1, all; found \""
                + s + "\"");
    }
}
