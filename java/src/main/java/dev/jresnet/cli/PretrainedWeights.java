package dev.jresnet.cli;

import dev.jresnet.image.Preset;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * torchvision's pretrained ImageNet-1k weights of the architectures jresnet runs (graph/Architecture.KNOWN), as
 * {@code torchvision/models/resnet.py} lists them: IMAGENET1K_V1 for every one, IMAGENET1K_V2 where torchvision has
 * it (all but resnet18, resnet34 and resnext101_64x4d, whose only weights are V1). The 8 hex digits in each file name
 * are the start of the file's SHA-256 (torch.hub's check_hash); V2 weights (and resnext101_64x4d's V1) were
 * evaluated with resize 232, the torchvision-v2 preset.
 *
 * @param name       what {@code jresnet weights download} takes, e.g. resnet50-imagenet1k-v2
 * @param arch       torchvision's builder name, an Architecture id
 * @param version    IMAGENET1K_V1 or IMAGENET1K_V2
 * @param url        torchvision's download URL
 * @param parameters parameter count (torchvision's num_params); the .pth holds them as float32
 * @param top1       ImageNet-1k top-1 accuracy in %, as torchvision reports it
 * @param preset     the preprocessing the weights were evaluated with
 */
record PretrainedWeights(String name, String arch, String version, String url, long parameters, double top1,
                         Preset preset) {
    private static final String BASE = "https://download.pytorch.org/models/";
    /** torch.hub's HASH_REGEX: the hex digits between the last '-' and the extension. */
    private static final Pattern HASH = Pattern.compile("-([0-9a-f]{8,64})\\.[A-Za-z]+$");

    static final List<PretrainedWeights> ALL = List.of(
            v1("resnet18", "resnet18-f37072fd.pth", 11_689_512, 69.758),
            v1("resnet34", "resnet34-b627a593.pth", 21_797_672, 73.314),
            v1("resnet50", "resnet50-0676ba61.pth", 25_557_032, 76.130),
            v2("resnet50", "resnet50-11ad3fa6.pth", 25_557_032, 80.858),
            v1("resnet101", "resnet101-63fe2227.pth", 44_549_160, 77.374),
            v2("resnet101", "resnet101-cd907fc2.pth", 44_549_160, 81.886),
            v1("resnet152", "resnet152-394f9c45.pth", 60_192_808, 78.312),
            v2("resnet152", "resnet152-f82ba261.pth", 60_192_808, 82.284),
            v1("wide_resnet50_2", "wide_resnet50_2-95faca4d.pth", 68_883_240, 78.468),
            v2("wide_resnet50_2", "wide_resnet50_2-9ba9bcbe.pth", 68_883_240, 81.602),
            v1("wide_resnet101_2", "wide_resnet101_2-32ee1156.pth", 126_886_696, 78.848),
            v2("wide_resnet101_2", "wide_resnet101_2-d733dc28.pth", 126_886_696, 82.510),
            v1("resnext50_32x4d", "resnext50_32x4d-7cdf4587.pth", 25_028_904, 77.618),
            v2("resnext50_32x4d", "resnext50_32x4d-1a0047aa.pth", 25_028_904, 81.198),
            v1("resnext101_32x8d", "resnext101_32x8d-8ba56ff5.pth", 88_791_336, 79.312),
            v2("resnext101_32x8d", "resnext101_32x8d-110c445d.pth", 88_791_336, 82.834),
            // torchvision evaluates this V1 (a later recipe) at resize 232, like the V2 weights
            new PretrainedWeights("resnext101_64x4d-imagenet1k-v1", "resnext101_64x4d", "IMAGENET1K_V1",
                    BASE + "resnext101_64x4d-173b62eb.pth", 83_455_272, 83.246, Preset.TORCHVISION_V2));

    private static PretrainedWeights v1(String arch, String file, long params, double top1) {
        return new PretrainedWeights(arch + "-imagenet1k-v1", arch, "IMAGENET1K_V1", BASE + file, params, top1,
                Preset.TORCHVISION_V1);
    }

    private static PretrainedWeights v2(String arch, String file, long params, double top1) {
        return new PretrainedWeights(arch + "-imagenet1k-v2", arch, "IMAGENET1K_V2", BASE + file, params, top1,
                Preset.TORCHVISION_V2);
    }

    /** The weights called {@code name}; otherwise one line listing every valid name. */
    static PretrainedWeights byName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return ALL.stream().filter(w -> w.name.equals(n)).findFirst().orElseThrow(() -> new IllegalArgumentException(
                "unknown weights " + name + "; valid names: " + names()));
    }

    static String names() {
        return ALL.stream().map(PretrainedWeights::name).collect(Collectors.joining(", "));
    }

    /** The best weights of {@code arch}: V2 where torchvision has them (higher accuracy), else V1. */
    static Optional<PretrainedWeights> recommended(String arch) {
        return ALL.stream().filter(w -> w.arch.equals(arch)).reduce((a, b) -> b);
    }

    /** The weights of {@code arch}, best first. */
    static List<PretrainedWeights> of(String arch) {
        List<PretrainedWeights> list = new java.util.ArrayList<>(ALL.stream().filter(w -> w.arch.equals(arch)).toList());
        java.util.Collections.reverse(list);
        return list;
    }

    /** The file the download writes: NAME.safetensors. */
    String fileName() {
        return name + ".safetensors";
    }

    /** The .pth's size, about 4 bytes per float32 parameter plus a little zip and pickle (BatchNorm counters). */
    long approximateBytes() {
        return parameters * 4;
    }

    /** The SHA-256 prefix in the last path segment of {@code url}, or empty when the name carries none. */
    static Optional<String> hashPrefix(String url) {
        String path = url;
        int q = path.indexOf('?');
        if (q >= 0) {
            path = path.substring(0, q);
        }
        String last = path.substring(path.lastIndexOf('/') + 1);
        Matcher m = HASH.matcher(last);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The command that downloads the recommended weights of {@code arch} (resnet50 when unknown). */
    static String downloadCommand(String arch) {
        String name = recommended(arch).or(() -> recommended("resnet50")).orElseThrow().name;
        return "jresnet weights download " + name;
    }
}
