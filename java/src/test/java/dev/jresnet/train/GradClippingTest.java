package dev.jresnet.train;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GradClippingTest {
    private static Parameter p(String name, float... grad) {
        return new Parameter(name, Tensor.zeros(Shape.of(grad.length)), new Tensor(Shape.of(grad.length), grad));
    }

    @Test
    void scalesToMaxNormAcrossAllParameters() {
        Parameter a = p("a", 3f);
        Parameter b = p("b", 4f);
        Parameter none = new Parameter("n", Tensor.zeros(1), null);
        float total = GradClipping.clipGlobalNorm(List.of(a, none, b), 1f);
        assertEquals(5f, total);
        float coef = 1f / (5f + 1e-6f);
        assertArrayEquals(new float[] {3f * coef}, a.grad().data());
        assertArrayEquals(new float[] {4f * coef}, b.grad().data());
    }

    @Test
    void leavesSmallGradientsAlone() {
        Parameter a = p("a", 0.3f, -0.4f);
        assertEquals(0.5f, GradClipping.clipGlobalNorm(List.of(a), 1f), 1e-7f);
        assertArrayEquals(new float[] {0.3f, -0.4f}, a.grad().data());
    }

    @Test
    void rejectsBadMaxNorm() {
        assertThrows(IllegalArgumentException.class, () -> GradClipping.clipGlobalNorm(List.of(), 0f));
        assertThrows(IllegalArgumentException.class, () -> GradClipping.clipGlobalNorm(List.of(), Float.NaN));
    }
}
