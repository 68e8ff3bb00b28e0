package dev.jresnet.graph;

import dev.jresnet.nn.NetworkSpec;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A member of torchvision's ResNet family: the block type, the number of blocks per stage, the grouped
 * convolution's groups and width per group (ResNeXt, Wide ResNet), where a bottleneck puts its stride
 * ({@link Variant}) and the number of classes. {@link #spec()} writes it out as a {@link NetworkSpec}
 * ({@link ResNets}); immutable.
 *
 * @param id            torchvision's builder name, e.g. {@code resnet50}, {@code resnext50_32x4d}
 * @param block         basic (two 3x3) or bottleneck (1x1, 3x3, 1x1 with 4x expansion) blocks
 * @param layers        blocks in layer1..layer4
 * @param groups        groups of every bottleneck's 3x3 convolution (1 but for ResNeXt)
 * @param widthPerGroup channels per group at layer1 (64; 128 for Wide ResNet, 4 or 8 for ResNeXt)
 */
public record Architecture(String id, Block block, List<Integer> layers, int groups, int widthPerGroup, Variant variant,
                           int numClasses) {
    /** ImageNet-1k. */
    public static final int IMAGENET_CLASSES = 1000;

    /** The two kinds of residual block. */
    public enum Block {
        /** Two 3x3 convolutions (resnet18, resnet34): output channels = planes. */
        BASIC(1),
        /** 1x1 reduce, 3x3 (grouped for ResNeXt), 1x1 expand: output channels = 4 x planes. */
        BOTTLENECK(4);

        private final int expansion;

        Block(int expansion) {
            this.expansion = expansion;
        }

        public int expansion() {
            return expansion;
        }
    }

    public static final Architecture RESNET18 = known("resnet18", Block.BASIC, List.of(2, 2, 2, 2), 1, 64);
    public static final Architecture RESNET34 = known("resnet34", Block.BASIC, List.of(3, 4, 6, 3), 1, 64);
    public static final Architecture RESNET50 = known("resnet50", Block.BOTTLENECK, List.of(3, 4, 6, 3), 1, 64);
    public static final Architecture RESNET101 = known("resnet101", Block.BOTTLENECK, List.of(3, 4, 23, 3), 1, 64);
    public static final Architecture RESNET152 = known("resnet152", Block.BOTTLENECK, List.of(3, 8, 36, 3), 1, 64);
    public static final Architecture WIDE_RESNET50_2 = known("wide_resnet50_2", Block.BOTTLENECK, List.of(3, 4, 6, 3), 1, 128);
    public static final Architecture WIDE_RESNET101_2 = known("wide_resnet101_2", Block.BOTTLENECK, List.of(3, 4, 23, 3), 1,
            128);
    public static final Architecture RESNEXT50_32X4D = known("resnext50_32x4d", Block.BOTTLENECK, List.of(3, 4, 6, 3), 32, 4);
    public static final Architecture RESNEXT101_32X8D = known("resnext101_32x8d", Block.BOTTLENECK, List.of(3, 4, 23, 3), 32,
            8);
    public static final Architecture RESNEXT101_64X4D = known("resnext101_64x4d", Block.BOTTLENECK, List.of(3, 4, 23, 3), 64,
            4);

    /** Every architecture jresnet knows, in torchvision's order, ImageNet-1k, v1.5. */
    public static final List<Architecture> KNOWN = List.of(RESNET18, RESNET34, RESNET50, RESNET101, RESNET152,
            WIDE_RESNET50_2, WIDE_RESNET101_2, RESNEXT50_32X4D, RESNEXT101_32X8D, RESNEXT101_64X4D);

    public Architecture {
        if (id == null || id.isBlank() || block == null || variant == null) {
            throw new IllegalArgumentException("architecture id, block and variant must be given");
        }
        layers = List.copyOf(layers);
        if (layers.size() != 4 || layers.stream().anyMatch(n -> n < 1)) {
            throw new IllegalArgumentException(id + ": layers must be four positive block counts, got " + layers);
        }
        if (groups < 1 || widthPerGroup < 1) {
            throw new IllegalArgumentException(id + ": groups and width per group must be >= 1, got " + groups + ", "
                    + widthPerGroup);
        }
        if (block == Block.BASIC && (groups != 1 || widthPerGroup != 64)) {
            throw new IllegalArgumentException(id + ": basic blocks support only groups=1 and width 64 (as torchvision)");
        }
        if (numClasses < 1) {
            throw new IllegalArgumentException(id + ": numClasses must be at least 1, got " + numClasses);
        }
    }

    private static Architecture known(String id, Block block, List<Integer> layers, int groups, int widthPerGroup) {
        return new Architecture(id, block, layers, groups, widthPerGroup, Variant.V1_5, IMAGENET_CLASSES);
    }

    /** The known architecture called {@code id} (case-insensitive; '-' may stand for '_'), ImageNet-1k, v1.5. */
    public static Architecture of(String id) {
        String key = id == null ? "" : id.strip().toLowerCase(Locale.ROOT).replace('-', '_');
        for (Architecture a : KNOWN) {
            if (a.id.equals(key)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown architecture \"" + id + "\" (known: " + ids() + ")");
    }

    /** "resnet18, resnet34, ..." */
    public static String ids() {
        return KNOWN.stream().map(Architecture::id).collect(Collectors.joining(", "));
    }

    /** torchvision's resnet50(): v1.5, 1000 ImageNet classes. */
    public static Architecture imagenet() {
        return RESNET50;
    }

    public Architecture withVariant(Variant v) {
        return new Architecture(id, block, layers, groups, widthPerGroup, v, numClasses);
    }

    public Architecture withClasses(int n) {
        return new Architecture(id, block, layers, groups, widthPerGroup, variant, n);
    }

    /** Channels of the pooled features the classifier sees: 512 (basic blocks) or 2048. */
    public int features() {
        return 512 * block.expansion();
    }

    /** The network written out step by step (see {@link ResNets}). */
    public NetworkSpec spec() {
        return ResNets.spec(this);
    }

    /** "resnet50", with the variant when it is not torchvision's and the classes when not 1000. */
    public String describe() {
        return id + qualifiers();
    }

    /**
     * The name papers and charts use, "ResNet-50", "Wide ResNet-50-2", "ResNeXt-50 32x4d" (any id not torchvision's
     * as it is), with the variant and classes as {@link #describe()} gives them: "ResNet-18, 3 classes".
     */
    public String displayName() {
        Matcher m;
        String name = id;
        if ((m = RESNET_ID.matcher(id)).matches()) {
            name = "ResNet-" + m.group(1);
        } else if ((m = WIDE_ID.matcher(id)).matches()) {
            name = "Wide ResNet-" + m.group(1) + "-" + m.group(2);
        } else if ((m = RESNEXT_ID.matcher(id)).matches()) {
            name = "ResNeXt-" + m.group(1) + " " + m.group(2);
        }
        return name + qualifiers();
    }

    private static final Pattern RESNET_ID = Pattern.compile("resnet(\\d+)");
    private static final Pattern WIDE_ID = Pattern.compile("wide_resnet(\\d+)_(\\d+)");
    private static final Pattern RESNEXT_ID = Pattern.compile("resnext(\\d+)_(\\d+x\\d+d)");

    /** " v1" where the variant is not torchvision's, ", 3 classes" where they are not 1000. */
    private String qualifiers() {
        return (variant != Variant.V1_5 && block == Block.BOTTLENECK ? " " + variant.id() : "")
                + (numClasses != IMAGENET_CLASSES ? ", " + numClasses + " classes" : "");
    }

    @Override
    public String toString() {
        return describe();
    }
}
