package dev.jresnet.graph;

/** Where a downsampling bottleneck puts its stride (basic blocks have one place for it: their first 3x3). */
public enum Variant {
    /** He et al. 2015: stride 2 in the first 1x1 convolution. */
    V1("v1"),
    /** torchvision's default ("ResNet v1.5"): stride 2 in the 3x3 convolution, slightly more accurate. */
    V1_5("v1.5");

    private final String id;

    Variant(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static Variant fromId(String id) {
        for (Variant v : values()) {
            if (v.id.equalsIgnoreCase(id)) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown ResNet variant \"" + id + "\" (expected v1 or v1.5)");
    }
}
