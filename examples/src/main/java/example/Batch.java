package example;

import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.Prediction;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Tensor;

import javax.imageio.ImageIO;
import java.io.File;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Images from a file, bytes, a stream and a BufferedImage; one batch; its logits and its features. */
public final class Batch {
    public static void main(String[] args) throws Exception {
        // ---- README begin ----
        RgbImage cat = ImageDecoder.decode(Path.of("samples/chelsea.png"));
        RgbImage rocket = ImageDecoder.decode(Files.readAllBytes(Path.of("samples/rocket.jpg")), "rocket.jpg");
        RgbImage cup;
        try (InputStream in = Files.newInputStream(Path.of("samples/coffee.png"))) {  // or an upload, a URL
            cup = ImageDecoder.decode(in, "coffee.png");
        }
        List<RgbImage> images = List.of(cat, rocket, cup);
        try (ResNet model = ResNet.untrained(0, Device.cpu())) {       // or ResNet.load(file, device)
            List<List<Prediction>> top5 = model.classify(images, 5);   // per image, in order
            Tensor batch = model.preprocess(images);                    // [3, 3, 224, 224]
            float[][] logits = model.logits(batch);                     // [3][1000]
            float[][] features = model.features(batch);                 // [3][2048]: the pooled vector fc reads
            List<Prediction> astronaut = model.classify(ImageIO.read(new File("samples/astronaut.png")), 5);
            System.out.printf("%s | logits %dx%d | features %dx%d | %s%n", top5.get(0).get(0).label(),
                    logits.length, logits[0].length, features.length, features[0].length, astronaut.get(0).label());
        }
        // ---- README end ----
    }
}
