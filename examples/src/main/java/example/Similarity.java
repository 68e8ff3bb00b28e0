package example;

import dev.jresnet.image.ImageDecoder;
import dev.jresnet.image.RgbImage;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The pooled features as embeddings: cosine similarity of every pair of sample photos. */
public final class Similarity {
    public static void main(String[] args) throws Exception {
        // ---- README begin ----
        List<String> names = List.of("chelsea.png", "coffee.png", "astronaut.png", "motorcycle_left.png");
        List<RgbImage> images = new ArrayList<>();
        for (String name : names) {
            images.add(ImageDecoder.decode(Path.of("samples", name)));
        }
        try (ResNet model = ResNet.untrained(0, Device.cpu())) {
            float[][] f = model.features(images);                 // [4][model.featureSize()], cropped as it goes
            for (int i = 0; i < f.length; i++) {
                for (int j = i + 1; j < f.length; j++) {
                    double dot = 0, ni = 0, nj = 0;
                    for (int k = 0; k < f[i].length; k++) {
                        dot += f[i][k] * f[j][k];
                        ni += f[i][k] * f[i][k];
                        nj += f[j][k] * f[j][k];
                    }
                    System.out.printf("%s ~ %s: %.3f%n", names.get(i), names.get(j), dot / Math.sqrt(ni * nj));
                }
            }
        }
        // ---- README end ----
    }
}
