package dev.jresnet.nn;

import dev.jresnet.tensor.Tensor;

/** Receives every tensor of a module with its torchvision name, in torchvision's state_dict order. */
@FunctionalInterface
public interface TensorVisitor {
    /** A learnable weight (counted in the parameter total) or a buffer such as running statistics. */
    enum Kind { PARAMETER, BUFFER }

    void visit(String name, Tensor tensor, Kind kind);
}
