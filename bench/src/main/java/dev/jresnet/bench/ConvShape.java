package dev.jresnet.bench;

import dev.jresnet.nn.Bottleneck;
import dev.jresnet.nn.Conv2d;
import dev.jresnet.resnet.ResNet50Config;
import dev.jresnet.resnet.ResNet50Graph;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One convolution shape of the network, per image: C input channels of H x W, K filters of R x R, stride, pad;
 * {@code count} is how many of the network's convolutions have it, {@code first} the torchvision name of the first.
 */
record ConvShape(int c, int k, int r, int stride, int pad, int h, int w, int count, String first) {

    int p() {
        return (h + 2 * pad - r) / stride + 1;
    }

    int q() {
        return (w + 2 * pad - r) / stride + 1;
    }

    /** FLOPs for one image (a multiply-add counts 2), as the engine's FLOP count has them. */
    long flopsPerImage() {
        return 2L * k * c * r * r * p() * q();
    }

    /** E.g. "64x56x56 -> 256, 1x1/1 p0". */
    String label() {
        return String.format(Locale.ROOT, "%dx%dx%d -> %d, %dx%d/%d p%d", c, h, w, k, r, r, stride, pad);
    }

    /**
     * The distinct convolution shapes of ResNet-50 at {@code size x size} input, in the order the forward pass
     * meets them, found by walking the engine's own graph (so a change to the graph changes the lab).
     */
    static List<ConvShape> ofResNet50(ResNet50Config config, int size) {
        ResNet50Graph g = new ResNet50Graph(config);
        Map<String, ConvShape> shapes = new LinkedHashMap<>();
        add(shapes, g.conv1, size, size);
        int h = g.conv1.outSize(size), w = g.conv1.outSize(size);
        h = (h + 2 - 3) / 2 + 1; // the stem's 3x3/2 max-pool, padding 1
        w = (w + 2 - 3) / 2 + 1;
        for (List<Bottleneck> stage : g.stages()) {
            for (Bottleneck b : stage) {
                add(shapes, b.conv1, h, w);
                int h1 = b.conv1.outSize(h), w1 = b.conv1.outSize(w);
                add(shapes, b.conv2, h1, w1);
                int h2 = b.conv2.outSize(h1), w2 = b.conv2.outSize(w1);
                add(shapes, b.conv3, h2, w2);
                if (b.downsampleConv != null) {
                    add(shapes, b.downsampleConv, h, w);
                }
                h = h2;
                w = w2;
            }
        }
        return new ArrayList<>(shapes.values());
    }

    private static void add(Map<String, ConvShape> shapes, Conv2d conv, int h, int w) {
        String key = conv.inChannels + "," + conv.outChannels + "," + conv.kernel + "," + conv.stride + ","
                + conv.padding + "," + h + "," + w;
        ConvShape old = shapes.get(key);
        shapes.put(key, old == null
                ? new ConvShape(conv.inChannels, conv.outChannels, conv.kernel, conv.stride, conv.padding, h, w, 1, conv.name)
                : new ConvShape(old.c, old.k, old.r, old.stride, old.pad, old.h, old.w, old.count + 1, old.first));
    }
}
