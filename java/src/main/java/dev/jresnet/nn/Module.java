package dev.jresnet.nn;

/** A layer or block: it owns named tensors and knows its cost. */
public interface Module {
    /** Visits every tensor of this module, names prefixed with the module's torchvision name. */
    void visitTensors(TensorVisitor visitor);

    /** Floating-point operations (a multiply-add counts 2) for one image whose input is {@code h x w}. */
    long flops(int h, int w);
}
