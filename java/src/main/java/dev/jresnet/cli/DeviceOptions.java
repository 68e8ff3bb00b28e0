package dev.jresnet.cli;

import dev.jresnet.cuda.CudaAvailability;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.DeviceUnavailableException;
import picocli.CommandLine.Option;

/**
 * --device and --precision, for the commands that compute with the model (classify). Kept apart from ModelOptions:
 * convert, export and summary only read and write weights, always on the CPU, so they do not offer options that
 * would do nothing.
 */
final class DeviceOptions {
    @Option(names = "--device", paramLabel = "D", defaultValue = "auto",
            description = "auto (CUDA if usable, else CPU), cpu, cuda or cuda:N. Default: ${DEFAULT-VALUE}.")
    String device = "auto";

    @Option(names = "--precision", paramLabel = "P", defaultValue = "fp32",
            description = "CUDA arithmetic: fp32 (exact), tf32 (tensor cores, fp32 data) or fp16 (NHWC, tensor cores). "
                    + "The CPU always computes in fp32. Default: ${DEFAULT-VALUE}.")
    String precision = "fp32";

    /** The device asked for; an explicit CUDA one that cannot run is refused here in one line: what, why, the fix. */
    Device parse() {
        Device d = Device.parse(device);
        if (d.kind() == Device.Kind.CUDA) {
            CudaAvailability.Status s = CudaAvailability.backendStatus();
            if (!s.usable()) {
                throw new DeviceUnavailableException("--device " + device + ": CUDA is unusable here (" + s.reason()
                        + "); `jresnet doctor` says what to install, or use --device cpu");
            }
        }
        return d;
    }

    /** The engine's failure to start on the device, told in the CLI's words (its option, not the API's Device.cpu()). */
    static DeviceUnavailableException inCliWords(DeviceUnavailableException e) {
        String m = e.getMessage();
        return m.endsWith("Device.cpu()") ? new DeviceUnavailableException(
                m.substring(0, m.length() - "Device.cpu()".length()) + "--device cpu") : e;
    }
}
