package dev.jresnet.resnet;

import dev.jresnet.tensor.Tensor;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/** Max abs error and relative L2 error of one tensor against a reference, for test messages. */
record Errors(double maxAbs, double relL2, double refMaxAbs) {
    static Errors of(Tensor actual, Tensor expected) {
        actual.shape().require(expected.shape(), "actual");
        double diff2 = 0, ref2 = 0, max = 0, refMax = 0;
        for (int i = 0; i < actual.size(); i++) {
            double d = (double) actual.data()[i] - expected.data()[i];
            diff2 += d * d;
            ref2 += (double) expected.data()[i] * expected.data()[i];
            max = Math.max(max, Math.abs(d));
            refMax = Math.max(refMax, Math.abs(expected.data()[i]));
        }
        return new Errors(max, Math.sqrt(diff2 / ref2), refMax);
    }

    static int[] topK(Tensor logits, int row, int k) {
        int c = logits.dim(1);
        float[] d = logits.data();
        return IntStream.range(0, c).boxed()
                .sorted(Comparator.comparingDouble((Integer j) -> -d[row * c + j]))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String toString() {
        return String.format("max abs %.3g (reference max %.3g), relative L2 %.3g", maxAbs, refMaxAbs, relL2);
    }

    static String arr(int[] a) {
        return Arrays.toString(a);
    }
}
