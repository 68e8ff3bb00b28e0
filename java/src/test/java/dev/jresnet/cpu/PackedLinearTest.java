package dev.jresnet.cpu;

import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PackedLinearTest {
    private static Tensor random(SplittableRandom r, int... dims) {
        Tensor t = Tensor.zeros(dims);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return t;
    }

    /** Bitwise CpuOps.linear, the reference op, on ResNet's classifier and on odd sizes, called twice (scratch reuse). */
    @ParameterizedTest
    @CsvSource({"1, 2048, 1000", "8, 2048, 1000", "3, 37, 5", "17, 64, 10", "1200, 40, 1000", "2, 512, 1",
            "9, 512, 100", "300, 64, 70"})
    void bitwiseTheReferenceOp(int n, int in, int out) {
        SplittableRandom r = new SplittableRandom(n * 31L + in * 7L + out);
        Tensor w = random(r, out, in), b = random(r, out);
        PackedLinear fc = PackedLinear.of(w, b);
        for (int call = 0; call < 2; call++) {
            Tensor x = random(r, n, in);
            Tensor expected = Tensor.zeros(n, out), actual = Tensor.zeros(n, out);
            CpuOps.linear(expected, x, w, b);
            java.util.Arrays.fill(actual.data(), Float.NaN);   // every element must be written
            fc.forward(actual, x);
            assertArrayEquals(expected.data(), actual.data(), 0f, n + "x" + in + " -> " + out + ", call " + call);
        }
        Tensor x = random(r, n, in), noBias = Tensor.zeros(n, out), expected = Tensor.zeros(n, out);
        PackedLinear.of(w, null).forward(noBias, x);
        CpuOps.linear(expected, x, w, null);
        assertArrayEquals(expected.data(), noBias.data(), 0f);
    }

    @org.junit.jupiter.api.Test
    void wrongShapesNameTheShape() {
        PackedLinear fc = PackedLinear.of(Tensor.zeros(10, 4), null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> fc.forward(Tensor.zeros(2, 10), Tensor.zeros(2, 5)));
        assertEquals("linear input: expected [N, I=4], found [2, 5]", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> fc.forward(Tensor.zeros(3, 10), Tensor.zeros(2, 4)));
        assertThrows(IllegalArgumentException.class, () -> PackedLinear.of(Tensor.zeros(10, 4), Tensor.zeros(9)));
    }
}
