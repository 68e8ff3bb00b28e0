package dev.jresnet.testing;

/**
 * How far a tensor is from its reference, in the terms the tolerances of the PyTorch and GPU comparisons are
 * written in: the L2 norms of the reference and of the error (their ratio is the relative L2 error) and the
 * largest magnitudes of each (an absolute bound is judged on {@link #errorMax}).
 */
public record Difference(int size, double referenceNorm, double referenceMax, double errorNorm, double errorMax) {

    /** {@code actual} against {@code expected}, element by element; the lengths must agree. */
    public static Difference of(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new IllegalArgumentException("lengths differ: " + actual.length + " vs " + expected.length);
        }
        double ref = 0, refMax = 0, err = 0, errMax = 0;
        for (int i = 0; i < actual.length; i++) {
            double e = (double) actual[i] - expected[i];
            ref += (double) expected[i] * expected[i];
            refMax = Math.max(refMax, Math.abs(expected[i]));
            err += e * e;
            errMax = Math.max(errMax, Math.abs(e)); // Math.max keeps a NaN: no bound accepts it
        }
        return new Difference(actual.length, Math.sqrt(ref), refMax, Math.sqrt(err), errMax);
    }

    /**
     * The update {@code actualAfter - before} against {@code expectedAfter - before}, element by element, in double
     * (so that the subtraction adds no rounding of its own); the lengths must agree.
     */
    public static Difference ofUpdate(float[] before, float[] actualAfter, float[] expectedAfter) {
        if (actualAfter.length != before.length || expectedAfter.length != before.length) {
            throw new IllegalArgumentException("lengths differ: before " + before.length + ", actual "
                    + actualAfter.length + ", expected " + expectedAfter.length);
        }
        double ref = 0, refMax = 0, err = 0, errMax = 0;
        for (int i = 0; i < before.length; i++) {
            double r = (double) expectedAfter[i] - before[i];
            double e = (double) actualAfter[i] - expectedAfter[i];
            ref += r * r;
            refMax = Math.max(refMax, Math.abs(r));
            err += e * e;
            errMax = Math.max(errMax, Math.abs(e));
        }
        return new Difference(before.length, Math.sqrt(ref), refMax, Math.sqrt(err), errMax);
    }

    /**
     * ||actual - expected|| / ||expected||: 0 when both are 0, infinite when only the reference is 0, NaN when
     * either holds a NaN.
     */
    public double relL2() {
        if (Double.isNaN(errorNorm)) {
            return Double.NaN;
        }
        if (referenceNorm == 0) {
            return errorNorm == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        return errorNorm / referenceNorm;
    }
}
