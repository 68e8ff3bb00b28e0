package dev.jresnet.cuda.train;

import dev.jresnet.cuda.ConvAlgorithms;
import dev.jresnet.train.AdamW;
import dev.jresnet.train.Sgd;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.bytedeco.cuda.global.cudnn.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        ConvAlgorithms.Direction data = ConvAlgorithms.Direction.BACKWARD_DATA;
        ConvAlgorithms.Candidate tensorCore = new ConvAlgorithms.Candidate(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                CUDNN_STATUS_SUCCESS, 0, CUDNN_DETERMINISTIC, CUDNN_TENSOR_OP_MATH);
        ConvAlgorithms.Candidate nonDet = new ConvAlgorithms.Candidate(CUDNN_CONVOLUTION_BWD_DATA_ALGO_0,
                CUDNN_STATUS_SUCCESS, 0, CUDNN_NON_DETERMINISTIC, CUDNN_FMA_MATH);
        ConvAlgorithms.Candidate tooBig = new ConvAlgorithms.Candidate(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                CUDNN_STATUS_SUCCESS, 1L << 40, CUDNN_DETERMINISTIC, CUDNN_FMA_MATH);
        ConvAlgorithms.Candidate failed = new ConvAlgorithms.Candidate(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                CUDNN_STATUS_NOT_SUPPORTED, 0, CUDNN_DETERMINISTIC, CUDNN_FMA_MATH);
        ConvAlgorithms.Candidate good = new ConvAlgorithms.Candidate(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                CUDNN_STATUS_SUCCESS, 100, CUDNN_DETERMINISTIC, CUDNN_DEFAULT_MATH);
        List<ConvAlgorithms.Candidate> all = List.of(tensorCore, nonDet, tooBig, failed, good);
        // backward passes: deterministic preferred
        assertEquals(4, ConvAlgorithms.pick(all, data, true, 1 << 20, "test"));
        assertEquals(0, ConvAlgorithms.pick(all, data, false, 1 << 20, "test"));
        assertEquals(1, ConvAlgorithms.pick(List.of(tensorCore, nonDet, tooBig), data, true, 1 << 20, "test"));
        // forward: the first usable one
        ConvAlgorithms.Candidate gemm = new ConvAlgorithms.Candidate(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                CUDNN_STATUS_SUCCESS, 0, CUDNN_NON_DETERMINISTIC, CUDNN_FMA_MATH);
        assertEquals(1, ConvAlgorithms.pick(List.of(tensorCore, gemm, good), ConvAlgorithms.Direction.FORWARD, true,
                1 << 20, "test"));
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> ConvAlgorithms.pick(List.of(tensorCore, failed), data, true, 1 << 20, "layer1.0.conv1"));
        assertTrue(e.getMessage().contains("BACKWARD_DATA layer1.0.conv1"), e.getMessage());
    }

    @Test
    void exactFp32RefusesFftAndWinogradInEveryDirection() {
        int[][] transforms = {
                {CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING,
                        CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED},
                {CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING,
                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED},
                {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING,
                        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED}};
        int[] gemmFamily = {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1};
        for (ConvAlgorithms.Direction d : ConvAlgorithms.Direction.values()) {
            List<ConvAlgorithms.Candidate> candidates = new java.util.ArrayList<>();
            for (int algo : transforms[d.ordinal()]) {
                assertFalse(ConvAlgorithms.isExactFamily(d, algo), d + " algo " + algo);
                candidates.add(new ConvAlgorithms.Candidate(algo, CUDNN_STATUS_SUCCESS, 0, CUDNN_DETERMINISTIC,
                        CUDNN_FMA_MATH));
            }
            assertThrows(RuntimeException.class, () -> ConvAlgorithms.pick(candidates, d, true, 1 << 20, "exact"), d::name);
            assertEquals(0, ConvAlgorithms.pick(candidates, d, false, 1 << 20, "tf32"), d::name);
            candidates.add(new ConvAlgorithms.Candidate(gemmFamily[d.ordinal()], CUDNN_STATUS_SUCCESS, 0,
                    CUDNN_DETERMINISTIC, CUDNN_FMA_MATH));
            assertEquals(candidates.size() - 1, ConvAlgorithms.pick(candidates, d, true, 1 << 20, "exact"), d::name);
        }
    }
}
