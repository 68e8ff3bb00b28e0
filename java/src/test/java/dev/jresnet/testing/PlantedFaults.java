package dev.jresnet.testing;

import dev.jresnet.graph.Network;
import dev.jresnet.tensor.Precision;

/**
 * The faults a reduced-precision GPU test must catch (issue 15): a few channels of one batch norm's output scaled,
 * as a wrong fold or a bad upload of part of a layer would scale them. Against exact fp32 they were within the old
 * tolerances (1e-2 for fp16, 2e-3 for tf32); against {@link PrecisionReference} they are far outside the new ones.
 */
public final class PlantedFaults {
    private PlantedFaults() {}

    /** Outputs [first, first + channels) of batch norm {@code bn} multiplied by {@code factor}. */
    public record Fault(String bn, int channels, float factor, int first) {
        public Fault(String bn, int channels, float factor) {
            this(bn, channels, factor, 0);
        }

        /** A copy of {@code net} with this fault: gamma and beta of those channels scaled, so their output is. */
        public Network plant(Network net) {
            Network copy = net.copy();
            float[] gamma = copy.tensor(bn + ".weight").data(), beta = copy.tensor(bn + ".bias").data();
            for (int c = first; c < first + channels; c++) {
                gamma[c] *= factor;
                beta[c] *= factor;
            }
            return copy;
        }

        @Override
        public String toString() {
            return channels + " channels of " + bn + (first == 0 ? "" : " from " + first) + " x" + factor;
        }
    }

    /** fp16's: 16 channels of layer3.5.bn3 x1.2. tf32's: 4 channels of layer4.2.bn3 x1.25. */
    public static Fault of(Precision p) {
        return switch (p) {
            case FP16 -> new Fault("layer3.5.bn3", 16, 1.2f);
            case TF32 -> new Fault("layer4.2.bn3", 4, 1.25f);
            case FP32 -> throw new IllegalArgumentException("no planted fault for exact fp32");
        };
    }
}
