package dev.jresnet.cuda.train;

import dev.jresnet.resnet.ResNet50Config;
import dev.jresnet.resnet.ResNet50Graph;
import dev.jresnet.resnet.WeightBinding;
import dev.jresnet.train.AdamW;
import dev.jresnet.train.Parameter;
import dev.jresnet.train.Sgd;
import dev.jresnet.train.TrainableResNet;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.bytedeco.cuda.global.cudnn.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The host-side logic of the GPU training path (no GPU needed). */
class TrainPlanningTest {
    @Test
    void trainableParameterNamesAreTheCpuOnes() {
        ResNet50Graph g = new ResNet50Graph(ResNet50Config.imagenet().withClasses(7));
        WeightBinding.initialise(g, 1);
        for (TrainableResNet.Unfreeze u : TrainableResNet.Unfreeze.values()) {
            List<String> cpu = TrainableResNet.of(g, u, false).parameters().stream().map(Parameter::name).toList();
            assertEquals(cpu, CudaTrainableResNet.trainableParameterNames(g, u), u.id());
        }
    }

    @Test
    void stages() {
        assertEquals(0, CudaTrainableResNet.stageOf("conv1.weight"));
        assertEquals(0, CudaTrainableResNet.stageOf("bn1.running_var"));
        assertEquals(3, CudaTrainableResNet.stageOf("layer3.5.downsample.1.weight"));
        assertEquals(5, CudaTrainableResNet.stageOf("fc.bias"));
        assertEquals(4, CudaTrainableResNet.firstStage(TrainableResNet.Unfreeze.LAYER4));
        assertEquals(0, CudaTrainableResNet.firstStage(TrainableResNet.Unfreeze.ALL));
    }

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
        TrainOps.Candidate tensorCore = new TrainOps.Candidate(1, CUDNN_STATUS_SUCCESS, 0, CUDNN_DETERMINISTIC,
                CUDNN_TENSOR_OP_MATH);
        TrainOps.Candidate nonDet = new TrainOps.Candidate(2, CUDNN_STATUS_SUCCESS, 0, CUDNN_NON_DETERMINISTIC,
                CUDNN_FMA_MATH);
        TrainOps.Candidate tooBig = new TrainOps.Candidate(3, CUDNN_STATUS_SUCCESS, 1L << 40, CUDNN_DETERMINISTIC,
                CUDNN_FMA_MATH);
        TrainOps.Candidate failed = new TrainOps.Candidate(4, CUDNN_STATUS_NOT_SUPPORTED, 0, CUDNN_DETERMINISTIC,
                CUDNN_FMA_MATH);
        TrainOps.Candidate good = new TrainOps.Candidate(5, CUDNN_STATUS_SUCCESS, 100, CUDNN_DETERMINISTIC,
                CUDNN_DEFAULT_MATH);
        List<TrainOps.Candidate> all = List.of(tensorCore, nonDet, tooBig, failed, good);
        assertEquals(good, TrainOps.pick(all, true, 1 << 20, "test", "ctx"));
        assertEquals(tensorCore, TrainOps.pick(all, false, 1 << 20, "test", "ctx"));
        assertEquals(nonDet, TrainOps.pick(List.of(tensorCore, nonDet, tooBig), true, 1 << 20, "test", "ctx"));
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> TrainOps.pick(List.of(tensorCore, failed), true, 1 << 20, "backward data", "ctx"));
        assertTrue(e.getMessage().contains("backward data"), e.getMessage());
    }
}
