package dev.jresnet.spark;

import dev.jresnet.resnet.FeatureLayer;

import java.io.Serializable;

/**
 * What one {@link ResNetTransformer#transform} asks of every partition, shipped to the executors with the task:
 * the model, the device parameter, the mode, and where the input and the results are in a row.
 *
 * @param inputIndex  the input column's position: binary (image bytes) or string (a path or URI Hadoop can open)
 * @param nameIndex   the position of a string column naming each row's image in error messages (path), or -1
 */
record InferenceSettings(ModelSpec model, String device, boolean classify, int topK, FeatureLayer layer,
                         int batchSize, int inputIndex, boolean inputIsPath, int nameIndex) implements Serializable {}
