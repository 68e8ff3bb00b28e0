package dev.jresnet.nn;

/**
 * {@code out[N, outFeatures] = in[N, inFeatures] · weightᵀ + bias}, weight {@code [outFeatures, inFeatures]} named
 * {@code name + ".weight"}, bias {@code [outFeatures]} named {@code name + ".bias"}.
 */
public record Linear(String name, int in, int out, int inFeatures, int outFeatures) implements Step {
    public String weight() {
        return name + ".weight";
    }

    public String bias() {
        return name + ".bias";
    }

    @Override
    public int[] inputs() {
        return new int[] {in};
    }

    @Override
    public void accept(StepVisitor visitor) {
        visitor.linear(this);
    }
}
