package dev.jresnet.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.jresnet.onnx.OnnxImporter;
import java.io.IOException;

/**
 * {@link OnnxImporter#read} (the protobuf walk of ProtoReader, then the graph match) on any bytes: consistent
 * weights, or an IOException (OnnxFormatException, WeightFormatException).
 */
class OnnxFuzzTest {
    @FuzzTest
    void read(byte[] data) throws Exception {
        WeightChecks.check(Hostile.read(Hostile.file("input.onnx", data), OnnxImporter::read, IOException.class,
                IllegalArgumentException.class));
    }
}
