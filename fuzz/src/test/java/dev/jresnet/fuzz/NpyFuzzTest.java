package dev.jresnet.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Tensor;
import java.io.IOException;

/** {@link Npy#read} on any bytes: a tensor whose data matches its shape, or an IOException / IllegalArgumentException. */
class NpyFuzzTest {
    @FuzzTest
    void read(byte[] data) throws Exception {
        Tensor t = Hostile.read(Hostile.file("input.npy", data), Npy::read, IOException.class,
                IllegalArgumentException.class);
        if (t != null) {
            Hostile.check(t.data().length == t.shape().size(), "data length " + t.data().length + " != shape " + t.shape());
        }
    }
}
