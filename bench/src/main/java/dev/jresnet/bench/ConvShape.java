package dev.jresnet.bench;

import dev.jresnet.graph.Architecture;
import dev.jresnet.nn.ConvBn;
import dev.jresnet.nn.Dims;
import dev.jresnet.nn.NetworkSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One convolution shape of the network, per image: C input channels of H x W, K filters of R x R, stride, pad and
 * groups; {@code count} is how many of the network's convolutions have it, {@code first} the torchvision name of
 * the first.
 */
record ConvShape(int c, int k, int r, int stride, int pad, int groups, int h, int w, int count, String first) {

    int p() {
        return (h + 2 * pad - r) / stride + 1;
    }

    int q() {
        return (w + 2 * pad - r) / stride + 1;
    }

    /** FLOPs for one image (a multiply-add counts 2), as the engine's FLOP count has them. */
    long flopsPerImage() {
        return 2L * k * (c / groups) * r * r * p() * q();
    }

    /** E.g. "64x56x56 -> 256, 1x1/1 p0" (", g32" for a grouped one). */
    String label() {
        return String.format(Locale.ROOT, "%dx%dx%d -> %d, %dx%d/%d p%d", c, h, w, k, r, r, stride, pad)
                + (groups != 1 ? ", g" + groups : "");
    }

    /**
     * The distinct convolution shapes of {@code architecture} at {@code size x size} input, in the order the forward
     * pass meets them, read from the network's description (so a change to the description changes the lab).
     */
    static List<ConvShape> of(Architecture architecture, int size) {
        NetworkSpec spec = architecture.spec();
        List<Dims> dims = spec.shapes(size, size);
        Map<String, ConvShape> shapes = new LinkedHashMap<>();
        for (ConvBn c : spec.convolutions()) {
            Dims in = dims.get(c.in());
            String key = c.inChannels() + "," + c.outChannels() + "," + c.kernel() + "," + c.stride() + "," + c.pad()
                    + "," + c.groups() + "," + in.h() + "," + in.w();
            ConvShape old = shapes.get(key);
            shapes.put(key, old == null
                    ? new ConvShape(c.inChannels(), c.outChannels(), c.kernel(), c.stride(), c.pad(), c.groups(),
                    in.h(), in.w(), 1, c.conv())
                    : new ConvShape(old.c, old.k, old.r, old.stride, old.pad, old.groups, old.h, old.w, old.count + 1,
                    old.first));
        }
        return new ArrayList<>(shapes.values());
    }
}
