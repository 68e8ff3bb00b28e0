package dev.jresnet.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.jresnet.weights.PthReader;
import java.io.IOException;

/** {@link PthReader#read} on any bytes as a .pth: consistent weights, or an IOException (WeightFormatException). */
class PthFuzzTest {
    @FuzzTest
    void read(byte[] data) throws Exception {
        WeightChecks.check(Hostile.read(Hostile.file("input.pth", data), PthReader::read, IOException.class,
                IllegalArgumentException.class));
    }
}
