package dev.jresnet.cpu;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every backward op against central finite differences (GradCheck.runAll), and the checker against a wrong gradient. */
class GradCheckTest {
    @Test
    void everyBackwardOpAgreesWithFiniteDifferences() {
        StringWriter table = new StringWriter();
        List<GradCheck.Result> results = GradCheck.runAll(new PrintWriter(table));
        System.out.print(table);
        assertTrue(results.size() >= 25, table.toString());
        for (GradCheck.Result r : results) {
            assertTrue(r.pass(), r + "\n" + table);
        }
    }

    @Test
    void aSlightlyWrongGradientFails() {
        dev.jresnet.tensor.Tensor x = GradCheck.gaussian(7, 2, 5);
        List<GradCheck.Result> r = GradCheck.check("x^2 with a 3% error", new String[] {"x"}, new dev.jresnet.tensor.Tensor[] {x},
                in -> {
                    dev.jresnet.tensor.Tensor y = dev.jresnet.tensor.Tensor.zeros(in[0].shape());
                    for (int i = 0; i < y.size(); i++) {
                        y.data()[i] = in[0].data()[i] * in[0].data()[i];
                    }
                    return y;
                },
                (in, dy) -> {
                    dev.jresnet.tensor.Tensor g = dev.jresnet.tensor.Tensor.zeros(in[0].shape());
                    for (int i = 0; i < g.size(); i++) {
                        g.data()[i] = 2.06f * in[0].data()[i] * dy.data()[i];
                    }
                    return new dev.jresnet.tensor.Tensor[] {g};
                }, 1);
        assertTrue(!r.get(0).pass() && r.get(0).maxRel() > 0.02, r.toString());
    }
}
