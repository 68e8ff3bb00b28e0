package dev.jresnet.cuda.train;

import dev.jresnet.cuda.ConvAlgorithms;
import dev.jresnet.train.AdamW;
import dev.jresnet.train.Sgd;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.bytedeco.cuda.global.cudnn.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The host-side logic of the GPU path: optimizer twins, the algorithm pick (no GPU needed). */
class TrainPlanningTest {
    @Test
    void gpuOptimizersDescribeThemselvesAsTheJavaOnes() {
        Sgd sgd = new Sgd(0.9f, 1e-4f, true);
        assertEquals(sgd.describe(), GpuOptimizer.from(sgd).describe());
        AdamW adamw = new AdamW(0.9f, 0.999f, 1e-8f, 0.05f);
        assertEquals(adamw.describe(), GpuOptimizer.from(adamw).describe());
        assertEquals(new Sgd(0f, 0f, false).describe(), GpuOptimizer.sgd(0f, 0f, false).describe());
        assertThrows(IllegalArgumentException.class, () -> GpuOptimizer.sgd(0f, 0f, true), "nesterov without momentum");
        assertThrows(IllegalArgumentException.class, () -> GpuOptimizer.adamw(1f, 0.9f, 1e-8f, 0f));
    }

    @Test
    void algorithmPickPrefersDeterministicFmaWithinTheLimit() {
        ConvAlgorithms.Candidate tensorCore = new ConvAlgorithms.Candidate(1, CUDNN_STATUS_SUCCESS, 0,
                CUDNN_DETERMINISTIC, CUDNN_TENSOR_OP_MATH);
        ConvAlgorithms.Candidate nonDet = new ConvAlgorithms.Candidate(2, CUDNN_STATUS_SUCCESS, 0,
                CUDNN_NON_DETERMINISTIC, CUDNN_FMA_MATH);
        ConvAlgorithms.Candidate tooBig = new ConvAlgorithms.Candidate(3, CUDNN_STATUS_SUCCESS, 1L << 40,
                CUDNN_DETERMINISTIC, CUDNN_FMA_MATH);
        ConvAlgorithms.Candidate failed = new ConvAlgorithms.Candidate(4, CUDNN_STATUS_NOT_SUPPORTED, 0,
                CUDNN_DETERMINISTIC, CUDNN_FMA_MATH);
        ConvAlgorithms.Candidate good = new ConvAlgorithms.Candidate(5, CUDNN_STATUS_SUCCESS, 100,
                CUDNN_DETERMINISTIC, CUDNN_DEFAULT_MATH);
        List<ConvAlgorithms.Candidate> all = List.of(tensorCore, nonDet, tooBig, failed, good);
        // backward passes: deterministic preferred
        assertEquals(4, ConvAlgorithms.pick(all, true, 1 << 20, true, "test"));
        assertEquals(0, ConvAlgorithms.pick(all, false, 1 << 20, true, "test"));
        assertEquals(1, ConvAlgorithms.pick(List.of(tensorCore, nonDet, tooBig), true, 1 << 20, true, "test"));
        // forward: the first usable one
        assertEquals(1, ConvAlgorithms.pick(all, true, 1 << 20, false, "test"));
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> ConvAlgorithms.pick(List.of(tensorCore, failed), true, 1 << 20, true, "backward data"));
        assertTrue(e.getMessage().contains("backward data"), e.getMessage());
    }
}
