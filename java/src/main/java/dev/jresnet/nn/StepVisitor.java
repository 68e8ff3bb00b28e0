package dev.jresnet.nn;

/** What an executor does for each kind of {@link Step}. */
public interface StepVisitor {
    void convBn(ConvBn step);

    void addRelu(AddRelu step);

    void maxPool(MaxPool step);

    void globalAvgPool(GlobalAvgPool step);

    void linear(Linear step);
}
