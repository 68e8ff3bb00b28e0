package dev.jresnet.cuda;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * The selected device of this process: {@link #open(int)} makes it current ({@code cudaSetDevice}),
 * initialises the runtime and the driver API (so the primary context is current for driver calls such as
 * {@code cuModuleLoadData}), and records the device's properties and the driver and runtime versions.
 *
 * <p>The current device is per thread in CUDA: a thread other than the opener calls {@link #makeCurrent()}
 * first. {@link #close()} waits for the device ({@code cudaDeviceSynchronize}) but does not reset it: the
 * primary context belongs to the whole process. Close every other resource first.
 */
public final class CudaContext extends CudaResource {
    /** Free and total device memory in bytes ({@code cudaMemGetInfo}). */
    public record MemoryInfo(long free, long total) {
        @Override
        public String toString() {
            return Checks.bytes(free) + " free of " + Checks.bytes(total);
        }
    }

    private final CudaDevice device;
    private final int driverVersion;
    private final int runtimeVersion;

    private CudaContext(CudaDevice device, int driverVersion, int runtimeVersion) {
        this.device = device;
        this.driverVersion = driverVersion;
        this.runtimeVersion = runtimeVersion;
    }

    /** Selects device {@code ordinal} (0 for the first GPU). Throws CudaException when it is not usable. */
    public static CudaContext open(int ordinal) {
        int count = Cuda.deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("no CUDA device " + ordinal + " (" + count + " present)");
        }
        Cuda.check(cudaSetDevice(ordinal), "cudaSetDevice", "device " + ordinal);
        Cuda.check(cudaFree((Pointer) null), "cudaFree(NULL)", "initialising the primary context of device " + ordinal);
        Cuda.checkDriver(cuInit(0), "cuInit");
        return new CudaContext(CudaDevice.get(ordinal), Cuda.driverVersion(), Cuda.runtimeVersion());
    }

    public CudaDevice device() {
        checkOpen();
        return device;
    }

    /** {@code cudaDriverGetVersion}, e.g. 13000 ({@link Cuda#versionString(int)} makes it "13.0"). */
    public int driverVersion() {
        return driverVersion;
    }

    /** {@code cudaRuntimeGetVersion}, e.g. 13010. */
    public int runtimeVersion() {
        return runtimeVersion;
    }

    /** Makes this device current on the calling thread. */
    public void makeCurrent() {
        checkOpen();
        Cuda.check(cudaSetDevice(device.ordinal()), "cudaSetDevice", "device " + device.ordinal());
    }

    /** Waits for all work on the device. */
    public void synchronize() {
        checkOpen();
        Cuda.check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }

    public MemoryInfo memoryInfo() {
        checkOpen();
        return memoryInfoOfCurrentDevice();
    }

    static MemoryInfo memoryInfoOfCurrentDevice() {
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            Cuda.check(cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return new MemoryInfo(free.get(), total.get());
        }
    }

    @Override
    protected String describe() {
        return "CudaContext(" + device + ", driver " + Cuda.versionString(driverVersion) + ", runtime "
                + Cuda.versionString(runtimeVersion) + ")";
    }

    @Override
    protected void release() {
        Cuda.check(cudaDeviceSynchronize(), "cudaDeviceSynchronize", "closing " + describe());
    }
}
