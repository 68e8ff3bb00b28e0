package dev.jresnet.nn;

/** Max pooling with a square window: {@code kernel}, {@code stride}, {@code pad}, in that order everywhere. */
public record MaxPool(int in, int out, int kernel, int stride, int pad) implements Step {
    public MaxPool {
        if (kernel < 1 || stride < 1 || pad < 0 || 2 * pad > kernel) {
            throw new IllegalArgumentException("max pool: need kernel >= 1, stride >= 1 and 0 <= padding <= kernel/2, "
                    + "found kernel " + kernel + ", stride " + stride + ", padding " + pad);
        }
    }

    public int outSize(int inSize) {
        return Step.outSize(inSize, kernel, stride, pad);
    }

    @Override
    public int[] inputs() {
        return new int[] {in};
    }

    @Override
    public void accept(StepVisitor visitor) {
        visitor.maxPool(this);
    }
}
