package dev.jresnet.io;

/**
 * The bounds every reader checks before it allocates from a size found in a file, and every command before it takes
 * more inputs: one place, so that the README's table and the code agree. Each is overridable with a system property
 * ({@code -Djresnet.limit.NAME=VALUE}, read at each check, so a test or a caller can raise it for one run);
 * {@link #exceeded} words the error.
 */
public enum Limits {
    /** Pixels of one decoded image (width x height): 2 x 89,478,485, PIL's decompression-bomb error threshold. */
    IMAGE_PIXELS("imagePixels", 2L * 89_478_485),
    /** Elements of one tensor read from a file (.pth storage, safetensors, ONNX initializer, .npy): 2^28 (1 GiB fp32). */
    TENSOR_ELEMENTS("tensorElements", 1L << 28),
    /**
     * Elements of all the tensors of one weights file together (.pth, safetensors, ONNX): 2^29 (2 GiB fp32; the
     * largest known architecture, wide_resnet101_2, holds 1.3 x 10^8). Bounds what views sharing one storage or
     * compressed zip entries could otherwise multiply from a small file.
     */
    WEIGHT_ELEMENTS("weightElements", 1L << 29),
    /** Bytes of a file header decoded whole (safetensors' JSON header, ONNX's protobuf outside tensor data): 100 MB. */
    HEADER_BYTES("headerBytes", 100_000_000L),
    /** Bytes one entry of a zip archive (.pth) may inflate to: the storage bound in bytes (8 x tensor elements). */
    ZIP_ENTRY_BYTES("zipEntryBytes", 8L << 28),
    /** Nesting depth of a pickle, JSON or protobuf structure. */
    NESTING_DEPTH("nestingDepth", 1_000),
    /** Opcodes and objects of one pickle (a torchvision ResNet-152 needs about 10^4). */
    PICKLE_OBJECTS("pickleObjects", 10_000_000),
    /** Classes of a classifier read from a file (ImageNet-21k has 21,843). */
    CLASSES("classes", 100_000),
    /**
     * Nodes, attributes, initializers and the integers they list (dims, strides, ...) of one ONNX graph: a torchvision
     * ResNet-152 export has about 5,000; each costs up to a few hundred bytes of heap, from as little as 2 bytes of file.
     */
    GRAPH_ITEMS("graphItems", 100_000),
    /** Input files of one command (images to classify, a dataset's files). */
    FILES_PER_RUN("filesPerRun", 10_000_000);

    private final String name;
    private final long defaultValue;

    Limits(String name, long defaultValue) {
        this.name = name;
        this.defaultValue = defaultValue;
    }

    /** The system property that overrides this limit. */
    public String property() {
        return "jresnet.limit." + name;
    }

    public long defaultValue() {
        return defaultValue;
    }

    /** The limit now: the system property when set to a positive integer, else the default. */
    public long value() {
        String v = System.getProperty(property());
        if (v == null || v.isBlank()) {
            return defaultValue;
        }
        try {
            long parsed = Long.parseLong(v.strip().replace("_", ""));
            if (parsed > 0) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // fall through: a malformed override must not disable the bound
        }
        throw new IllegalArgumentException(property() + "=" + v + " is not a positive integer");
    }

    /** Whether {@code amount} is within the limit. */
    public boolean allows(long amount) {
        return amount >= 0 && amount <= value();
    }

    /**
     * The one-line reason for refusing {@code what} of {@code amount}: "WHAT: AMOUNT exceeds the limit of LIMIT
     * (-Djresnet.limit.NAME raises it)".
     */
    public String exceeded(String what, long amount) {
        return what + ": " + amount + " exceeds the limit of " + value() + " (-D" + property() + "=N raises it)";
    }
}
