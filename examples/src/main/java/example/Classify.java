package example;

import dev.jresnet.image.ImageDecoder;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.Prediction;
import dev.jresnet.resnet.ResNet;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** One photo, top 5: pretrained weights where `jresnet weights download` put them, else the seeded ones. */
public final class Classify {
    public static void main(String[] args) throws Exception {
        // ---- README begin ----
        // Where `./jresnet weights download resnet50-imagenet1k-v2` puts torchvision's weights.
        Path weights = Path.of(System.getProperty("user.home"), ".cache/jresnet/resnet50-imagenet1k-v2.safetensors");
        try (ResNet model = Files.exists(weights) ? ResNet.load(weights, Device.auto())
                : ResNet.untrained(0, Device.auto())) {          // seeded: its predictions are noise
            System.out.println(model.architecture());             // resnet50, as the file says
            System.out.println(model);                            // for logs: ResNet-50 on cpu, fp32, 224x224, weights ...
            System.out.println(model.deviceDescription());        // which device, and why
            List<Prediction> top5 = model.classify(ImageDecoder.decode(Path.of("samples/chelsea.png")), 5);
            for (Prediction p : top5) {
                System.out.printf("%4d %-30s %.3f%n", p.index(), p.label(), p.probability());
            }
        }
        // ---- README end ----
    }
}
