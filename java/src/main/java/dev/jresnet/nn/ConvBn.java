package dev.jresnet.nn;

/**
 * {@code out = relu?(bn(conv(in)) [+ residual])}: a convolution without bias, weight
 * {@code [outChannels, inChannels/groups, kernel, kernel]} named {@code conv + ".weight"}, square stride and
 * padding, followed by batch norm named {@code bn} (tensors {@code .weight}, {@code .bias}, {@code .running_mean},
 * {@code .running_var}, each {@code [outChannels]}), then the residual add when {@code residual >= 0}, then ReLU
 * when {@code relu}.
 *
 * <p>The descriptions of {@code dev.jresnet.graph.ResNets} never set a residual: a block ends in
 * {@link AddRelu}. {@link NetworkSpec#fused()} merges a ConvBn without ReLU into the AddRelu that is its only
 * reader, which is how the fast paths run it (the add and ReLU applied as the convolution stores its output).
 */
public record ConvBn(String conv, String bn, int in, int out, int inChannels, int outChannels, int kernel,
                     int stride, int pad, int groups, int residual, boolean relu) implements Step {
    /** torchvision's BatchNorm2d eps. */
    public static final float BN_EPS = 1e-5f;

    public ConvBn {
        if (kernel < 1 || stride < 1 || pad < 0 || groups < 1) {
            throw new IllegalArgumentException(conv + ": kernel " + kernel + ", stride " + stride + ", padding " + pad
                    + ", groups " + groups + " (need kernel, stride, groups >= 1 and padding >= 0)");
        }
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException(conv + ": " + groups + " groups do not divide " + inChannels
                    + " input and " + outChannels + " output channels");
        }
    }

    /** The convolution's weight {@code [outChannels, inChannels/groups, kernel, kernel]}. */
    public String weight() {
        return conv + ".weight";
    }

    /** Batch norm's scale (gamma) {@code [outChannels]}. */
    public String gamma() {
        return bn + ".weight";
    }

    /** Batch norm's shift (beta) {@code [outChannels]}. */
    public String beta() {
        return bn + ".bias";
    }

    public String runningMean() {
        return bn + ".running_mean";
    }

    public String runningVar() {
        return bn + ".running_var";
    }

    /** Input channels each output channel sees. */
    public int groupChannels() {
        return inChannels / groups;
    }

    public int outSize(int inSize) {
        return Step.outSize(inSize, kernel, stride, pad);
    }

    /** This step with a residual input and ReLU after the add (see {@link NetworkSpec#fused()}). */
    public ConvBn withResidual(int residualValue, int outValue) {
        return new ConvBn(conv, bn, in, outValue, inChannels, outChannels, kernel, stride, pad, groups,
                residualValue, true);
    }

    @Override
    public int[] inputs() {
        return residual < 0 ? new int[] {in} : new int[] {in, residual};
    }

    @Override
    public void accept(StepVisitor visitor) {
        visitor.convBn(this);
    }
}
