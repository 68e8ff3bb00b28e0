package dev.jresnet.spark;

import dev.jresnet.cuda.CudaAvailability;
import dev.jresnet.resnet.Device;
import org.apache.spark.resource.ResourceInformation;

import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Which device a task's model runs on, and why. The GPU is the one Spark's scheduler gave the task
 * ({@code spark.task.resource.gpu.amount}, read from {@code TaskContext.resources()}), so concurrent tasks on a
 * multi-GPU executor each use their own; without one, or where CUDA cannot run, {@code auto} takes the CPU engine
 * and says why, {@code cuda} refuses to start.
 */
public record DeviceChoice(Device device, String reason) {
    /** The resource name Spark's GPU scheduling uses. */
    static final String GPU = "gpu";

    /** The device parameter in lower case; anything but auto, cpu or cuda is refused naming them. */
    static String requireKnown(String asked) {
        String mode = asked.toLowerCase(Locale.ROOT);
        if (!mode.equals("auto") && !mode.equals("cpu") && !mode.equals("cuda")) {
            throw new IllegalArgumentException("device must be auto, cpu or cuda, got \"" + asked + "\"");
        }
        return mode;
    }

    /**
     * @param asked     the Transformer's device parameter: auto, cpu or cuda
     * @param resources the task's resources (TaskContext.resources()), empty on the driver or without GPU scheduling
     * @param cuda      whether the CUDA engine can run in this JVM (asked only when a GPU was assigned)
     */
    static DeviceChoice choose(String asked, Map<String, ResourceInformation> resources,
                               Supplier<CudaAvailability.Status> cuda) {
        String mode = requireKnown(asked);
        if (mode.equals("cpu")) {
            return new DeviceChoice(Device.cpu(), "device=cpu");
        }
        ResourceInformation gpu = resources.get(GPU);
        if (gpu == null || gpu.addresses().length == 0) {
            String why = "the task has no GPU (set spark.executor.resource.gpu.amount and "
                    + "spark.task.resource.gpu.amount, with a GPU discovery script, to give each task one)";
            if (mode.equals("cuda")) {
                throw new IllegalStateException("device=cuda: " + why);
            }
            return new DeviceChoice(Device.cpu(), why);
        }
        String address = gpu.addresses()[0];
        int index;
        try {
            index = Integer.parseInt(address.strip());
        } catch (NumberFormatException e) {
            throw new IllegalStateException("the task's GPU address \"" + address + "\" is not a CUDA device index: "
                    + "the GPU discovery script must report indices such as \"0\"");
        }
        CudaAvailability.Status s = cuda.get();
        if (!s.usable()) {
            String why = "GPU " + address + " was assigned but CUDA cannot run here: " + s.reason();
            if (mode.equals("cuda")) {
                throw new IllegalStateException("device=cuda: " + why);
            }
            return new DeviceChoice(Device.cpu(), why);
        }
        return new DeviceChoice(Device.cuda(index), "GPU " + address + " from the task's resources");
    }
}
