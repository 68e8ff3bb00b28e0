package dev.jresnet.spark;

import dev.jresnet.cuda.CudaAvailability;
import dev.jresnet.resnet.Device;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The device of a task from its resources (TaskContext.resources()) and whether CUDA can run: no Spark, no GPU. */
class DeviceChoiceTest {
    private static final Map<String, ResourceInformation> GPU_1 =
            Map.of("gpu", new ResourceInformation("gpu", new String[] {"1"}));
    private static final CudaAvailability.Status USABLE = new CudaAvailability.Status(true, 2, "2 devices");
    private static final CudaAvailability.Status NO_DRIVER =
            new CudaAvailability.Status(false, 0, "libcuda.so.1 not found");

    @Test
    void aTaskWithAGpuRunsOnThatGpu() {
        DeviceChoice c = DeviceChoice.choose("auto", GPU_1, () -> USABLE);
        assertEquals(Device.Kind.CUDA, c.device().kind());
        assertEquals(1, c.device().index());
        assertEquals("GPU 1 from the task's resources", c.reason());
        assertEquals(1, DeviceChoice.choose("cuda", GPU_1, () -> USABLE).device().index());
    }

    @Test
    void withoutAGpuOrWithoutCudaAutoTakesTheCpuAndSaysWhy() {
        DeviceChoice none = DeviceChoice.choose("auto", Map.of(), () -> fail("CUDA is not asked without a GPU"));
        assertEquals(Device.Kind.CPU, none.device().kind());
        assertTrue(none.reason().startsWith("the task has no GPU (set spark.executor.resource.gpu.amount"),
                none.reason());
        DeviceChoice broken = DeviceChoice.choose("auto", GPU_1, () -> NO_DRIVER);
        assertEquals(Device.Kind.CPU, broken.device().kind());
        assertEquals("GPU 1 was assigned but CUDA cannot run here: libcuda.so.1 not found", broken.reason());
        assertEquals(Device.Kind.CPU, DeviceChoice.choose("cpu", GPU_1, () -> USABLE).device().kind());
    }

    @Test
    void cudaWithoutAUsableGpuAndUnknownDevicesAreRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> DeviceChoice.choose("cuda", GPU_1, () -> NO_DRIVER));
        assertEquals("device=cuda: GPU 1 was assigned but CUDA cannot run here: libcuda.so.1 not found",
                e.getMessage());
        assertThrows(IllegalStateException.class, () -> DeviceChoice.choose("cuda", Map.of(), () -> USABLE));
        assertThrows(IllegalStateException.class, () -> DeviceChoice.choose("auto",
                Map.of("gpu", new ResourceInformation("gpu", new String[] {"GPU-5d1c"})), () -> USABLE));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> DeviceChoice.choose("tpu", Map.of(), () -> USABLE));
        assertEquals("device must be auto, cpu or cuda, got \"tpu\"", bad.getMessage());
    }
}
