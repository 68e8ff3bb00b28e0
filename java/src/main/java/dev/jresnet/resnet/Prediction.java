package dev.jresnet.resnet;

/** One class of a top-K answer. */
public record Prediction(int index, String label, float probability, float logit) {}
