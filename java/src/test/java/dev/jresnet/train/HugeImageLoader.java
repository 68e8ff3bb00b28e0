package dev.jresnet.train;

import dev.jresnet.image.Preset;

import java.nio.file.Path;

/** Child JVM of {@link DataLoaderMemoryTest}: loads every image of a folder once and prints what it skipped. */
public final class HugeImageLoader {
    private HugeImageLoader() {}

    public static void main(String[] args) throws Exception {
        var samples = ImageFolder.scan(Path.of(args[0])).samples();
        int images = 0;
        try (DataLoader loader = DataLoader.builder(samples, Transforms.eval(Preset.TORCHVISION_V1, 64)).batchSize(2)
                .workers(1).build()) {
            for (Batch b : loader.epoch(0)) {
                images += b.size();
            }
            System.out.println("loaded " + images);
            loader.skipped().forEach(s -> System.out.println("skipped " + s.file().getFileName() + ": " + s.reason()));
        }
    }
}
