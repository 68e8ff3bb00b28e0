package dev.jresnet.nn;

/** {@code out = relu(a + b)}: the end of a residual block, {@code a} the block's branch, {@code b} its shortcut. */
public record AddRelu(int a, int b, int out) implements Step {
    @Override
    public int[] inputs() {
        return new int[] {a, b};
    }

    @Override
    public void accept(StepVisitor visitor) {
        visitor.addRelu(this);
    }
}
