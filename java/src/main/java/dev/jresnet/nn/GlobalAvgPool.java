package dev.jresnet.nn;

/** {@code out[N, C] = mean over H, W of in[N, C, H, W]}. */
public record GlobalAvgPool(int in, int out) implements Step {
    @Override
    public int[] inputs() {
        return new int[] {in};
    }

    @Override
    public void accept(StepVisitor visitor) {
        visitor.globalAvgPool(this);
    }
}
