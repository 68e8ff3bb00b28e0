package dev.jresnet.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.jresnet.weights.SafetensorsReader;
import java.io.IOException;

/** {@link SafetensorsReader#read} on any bytes: consistent weights, or an IOException (WeightFormatException). */
class SafetensorsFuzzTest {
    @FuzzTest
    void read(byte[] data) throws Exception {
        WeightChecks.check(Hostile.read(Hostile.file("input.safetensors", data), SafetensorsReader::read,
                IOException.class, IllegalArgumentException.class));
    }
}
