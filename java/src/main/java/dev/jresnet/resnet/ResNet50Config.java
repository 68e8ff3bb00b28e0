package dev.jresnet.resnet;

/** The shape of the network: variant and number of output classes. */
public record ResNet50Config(Variant variant, int numClasses) {
    public static final int IMAGENET_CLASSES = 1000;
    public static final int FEATURES = 2048;

    public ResNet50Config {
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
        if (numClasses < 1) {
            throw new IllegalArgumentException("numClasses must be at least 1, got " + numClasses);
        }
    }

    /** torchvision's resnet50(): v1.5, 1000 ImageNet classes. */
    public static ResNet50Config imagenet() {
        return new ResNet50Config(Variant.V1_5, IMAGENET_CLASSES);
    }

    public ResNet50Config withVariant(Variant v) {
        return new ResNet50Config(v, numClasses);
    }

    public ResNet50Config withClasses(int n) {
        return new ResNet50Config(variant, n);
    }
}
