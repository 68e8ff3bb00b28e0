package dev.jresnet.cuda;

import org.bytedeco.cuda.cudart.cudaDeviceProp;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * Properties of one CUDA device, read with {@code cudaGetDeviceProperties}: name, memory, compute
 * capability, multiprocessors. Immutable; nothing to close.
 */
public record CudaDevice(int ordinal, String name, long totalMemory, int major, int minor, int multiprocessors,
                         int pciBusId) {

    /** The properties of device {@code ordinal} (checked). */
    public static CudaDevice get(int ordinal) {
        try (cudaDeviceProp p = new cudaDeviceProp()) {
            Cuda.check(cudaGetDeviceProperties(p, ordinal), "cudaGetDeviceProperties", "device " + ordinal);
            return new CudaDevice(ordinal, p.name().getString(), p.totalGlobalMem(), p.major(), p.minor(),
                    p.multiProcessorCount(), p.pciBusID());
        }
    }

    /** Every device {@code cudaGetDeviceCount} reports. */
    public static List<CudaDevice> all() {
        int n = Cuda.deviceCount();
        List<CudaDevice> devices = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            devices.add(get(i));
        }
        return devices;
    }

    /** The compute capability as 10 * major + minor, e.g. 90 for an H100/H200. */
    public int computeCapability() {
        return major * 10 + minor;
    }

    /** The exact architecture NVRTC compiles a CUBIN for, e.g. "sm_90". */
    public String arch() {
        return "sm_" + major + minor;
    }

    @Override
    public String toString() {
        return "GPU " + ordinal + ": " + name + ", " + Checks.bytes(totalMemory) + ", compute capability "
                + major + "." + minor + ", " + multiprocessors + " SMs";
    }
}
