package dev.jresnet.resnet;

import dev.jresnet.graph.Architecture;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Class names: the 1000 ImageNet labels shipped with jresnet, or those a fine-tuned model carries. */
public final class Labels {
    private static volatile List<String> imagenet;

    private Labels() {}

    /** The ILSVRC-2012 names in torchvision's index order (line N = class N). */
    public static List<String> imagenet() {
        List<String> l = imagenet;
        if (l == null) {
            try (InputStream in = Labels.class.getResourceAsStream("/dev/jresnet/imagenet-classes.txt")) {
                if (in == null) {
                    throw new IllegalStateException("resource /dev/jresnet/imagenet-classes.txt missing from the jar");
                }
                l = List.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).strip().split("\n"));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the ImageNet labels", e);
            }
            if (l.size() != Architecture.IMAGENET_CLASSES) {
                throw new IllegalStateException("expected 1000 ImageNet labels, found " + l.size());
            }
            imagenet = l;
        }
        return l;
    }

    /** Labels for a model with {@code n} classes: ImageNet's for 1000, else "class 0".."class n-1". */
    public static List<String> defaultFor(int n) {
        if (n == Architecture.IMAGENET_CLASSES) {
            return imagenet();
        }
        String[] names = new String[n];
        for (int i = 0; i < n; i++) {
            names[i] = "class " + i;
        }
        return List.of(names);
    }
}
