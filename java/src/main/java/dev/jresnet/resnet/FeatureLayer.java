package dev.jresnet.resnet;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Where {@link ResNet#features(java.util.List, FeatureLayer)} takes an image's embedding: the output of a stage of
 * the network, averaged over its positions (global average pooling), so each is one vector of the stage's channels
 * whatever the image size. {@link #POOL} is the vector the classifier reads ({@link ResNet#featureSize()} wide:
 * torchvision's model with {@code fc = Identity}); {@link #LAYER4} is the same vector (layer4's output pooled);
 * {@code LAYER1}..{@code LAYER3} are earlier, more local features (resnet50: 256, 512, 1024 wide).
 */
public enum FeatureLayer {
    POOL("pool", "layer4"),
    LAYER1("layer1", "layer1"),
    LAYER2("layer2", "layer2"),
    LAYER3("layer3", "layer3"),
    LAYER4("layer4", "layer4");

    private final String id;
    private final String stage;

    FeatureLayer(String id, String stage) {
        this.id = id;
        this.stage = stage;
    }

    /** The name used by the CLI's {@code --layer} and in files: pool, layer1 .. layer4. */
    public String id() {
        return id;
    }

    /** The stage of the network description whose output is pooled (pool: layer4). */
    public String stage() {
        return stage;
    }

    /** Whether this is the classifier's pooled input, which every device computes (the others: the CPU only). */
    public boolean isClassifierInput() {
        return stage.equals(POOL.stage);
    }

    /** The layer named {@code id} (any case); an unknown one is refused naming those there are. */
    public static FeatureLayer fromId(String id) {
        for (FeatureLayer l : values()) {
            if (l.id.equalsIgnoreCase(id.strip())) {
                return l;
            }
        }
        throw new IllegalArgumentException("unknown feature layer \"" + id + "\": use one of "
                + Arrays.stream(values()).map(FeatureLayer::id).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return id;
    }
}
