package dev.jresnet.weights;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.jresnet.fuzz.Hostile;

/**
 * {@link PickleReader} (package-private, hence this package) on any bytes as a data.pkl: a value, or a
 * WeightFormatException. The pickle virtual machine is the part of .pth reading with the most states (opcodes, memo,
 * marks, nesting), so it gets its own target rather than being reached only through a zip.
 */
class PickleFuzzTest {
    @FuzzTest
    void read(byte[] data) throws Exception {
        Hostile.call(() -> PickleReader.read("fuzz.pth: archive/data.pkl", data), WeightFormatException.class);
    }
}
