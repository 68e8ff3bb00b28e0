package dev.jresnet.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GradcheckCommandTest {
    @Test
    void printsATableAndSucceeds() {
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("gradcheck");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("conv2d(7x7,s2,p3)") && r.out().contains("batch_norm_train"), r.out());
        assertTrue(r.out().contains(" 0 failed"), r.out());
    }
}
