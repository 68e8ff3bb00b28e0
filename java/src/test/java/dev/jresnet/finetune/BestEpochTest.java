package dev.jresnet.finetune;

import dev.jresnet.graph.Architecture;
import dev.jresnet.graph.Network;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.train.EpochMetrics;
import dev.jresnet.train.Unfreeze;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which epoch the model keeps, and that its weights survive later epochs. */
class BestEpochTest {
    static EpochMetrics epoch(int e, double valLoss, double valTop1) {
        return new EpochMetrics(e, 1, valLoss, 0.5, valTop1, Double.NaN, 100, 1, 0.01);
    }

    @Test
    void keepsTheBestTop1ThenLowerLossThenEarlierAndItsWeights() {
        Network net = new Network(Architecture.of("resnet18").withClasses(3));
        Set<String> trained = BestEpoch.trainedTensors(net.spec(), Unfreeze.LAYER4);
        assertTrue(trained.contains("fc.weight") && trained.contains("layer4.1.bn2.running_var")
                && trained.stream().noneMatch(n -> n.startsWith("layer3.")), trained.toString());

        Map<String, Tensor> live = new LinkedHashMap<>(net.tensors());
        BestEpoch best = new BestEpoch(net.spec(), Unfreeze.LAYER4);
        float[] fc = live.get("fc.weight").data();
        int[] kept = new int[6];
        double[][] epochs = {{1.0, 0.5}, {0.9, 0.7}, {0.8, 0.7}, {0.8, 0.7}, {1.2, 0.6}};
        for (int e = 1; e <= epochs.length; e++) {
            best.beforeEpoch(() -> live);
            fc[0] = e; // the epoch's training
            best.epochEnded(epoch(e, epochs[e - 1][0], epochs[e - 1][1]));
            kept[e] = best.metrics().epoch();
        }
        // 2 beats 1 (top-1), 3 beats 2 (same top-1, lower loss), 4 does not beat 3 (a tie), 5 is worse.
        assertArrayEquals(new int[] {0, 1, 2, 3, 3, 3}, kept);
        Map<String, Tensor> model = best.model(live);
        assertEquals(3f, model.get("fc.weight").data()[0], "the kept epoch's weights, not the last's");
        assertEquals(5f, live.get("fc.weight").data()[0]);
        assertSame(live.get("layer1.0.conv1.weight"), model.get("layer1.0.conv1.weight"), "frozen: not copied");
        assertEquals(trained.size(), best.checkpointTensors().size());
        assertTrue(best.checkpointTensors().keySet().stream().allMatch(k -> k.startsWith(BestEpoch.PREFIX)));

        // Restored from a checkpoint, the same model comes out.
        BestEpoch again = new BestEpoch(net.spec(), Unfreeze.LAYER4);
        again.restore(epoch(3, 0.8, 0.7), best.checkpointTensors());
        assertEquals(3f, again.model(live).get("fc.weight").data()[0]);

        // Without a validation set every epoch wins: the last is kept, nothing copied.
        BestEpoch noVal = new BestEpoch(net.spec(), Unfreeze.LAYER4);
        for (int e = 1; e <= 3; e++) {
            noVal.beforeEpoch(() -> live);
            noVal.epochEnded(epoch(e, Double.NaN, Double.NaN));
        }
        assertEquals(3, noVal.metrics().epoch());
        assertSame(live, noVal.model(live));
        assertTrue(noVal.checkpointTensors().isEmpty());
    }
}
