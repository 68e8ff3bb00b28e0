package dev.jresnet.cuda.train;

import dev.jresnet.cuda.CudaContext;
import dev.jresnet.cuda.DeviceBuffer;
import dev.jresnet.cuda.DeviceMemory;
import dev.jresnet.cuda.InferencePrecision;
import dev.jresnet.cuda.Kernels;
import dev.jresnet.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Host-tensor access to {@link TrainOps} for the op-by-op GPU tests: upload, run, download. */
final class GpuTrainHarness implements AutoCloseable {
    final CudaContext context;
    final Kernels kernels;
    final TrainOps ops;
    private final List<DeviceMemory> temps = new ArrayList<>();

    GpuTrainHarness() {
        context = CudaContext.open(0);
        kernels = Kernels.load(context);
        ops = new TrainOps(context, kernels, InferencePrecision.FP32);
    }

    DeviceBuffer up(Tensor t) {
        DeviceMemory m = DeviceMemory.allocate(4L * Math.max(1, t.size()), "test " + t.shape());
        temps.add(m);
        m.buffer().upload(ops.stream(), t.data());
        return m.buffer();
    }

    DeviceBuffer upInts(int[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.nativeOrder());
        for (int x : v) {
            b.putInt(x);
        }
        DeviceMemory m = DeviceMemory.allocate(4L * v.length, "test ints");
        temps.add(m);
        m.buffer().upload(ops.stream(), b.array());
        return m.buffer();
    }

    DeviceBuffer zeros(long floats) {
        DeviceMemory m = DeviceMemory.allocate(4L * Math.max(1, floats), "test zeros");
        temps.add(m);
        m.buffer().fill(ops.stream(), 0);
        return m.buffer();
    }

    Tensor down(DeviceBuffer b, int... dims) {
        Tensor t = Tensor.zeros(dims);
        b.download(ops.stream(), t.data());
        return t;
    }

    static Tensor random(SplittableRandom r, double scale, int... dims) {
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return t;
    }

    /** Max |a - b| / max(1, max |b|). */
    static double maxRel(Tensor a, Tensor b) {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < b.size(); i++) {
            maxDiff = Math.max(maxDiff, Math.abs((double) a.data()[i] - b.data()[i]));
            maxRef = Math.max(maxRef, Math.abs(b.data()[i]));
        }
        return maxDiff / Math.max(1e-30, maxRef);
    }

    static double maxAbs(Tensor a, Tensor b) {
        double m = 0;
        for (int i = 0; i < b.size(); i++) {
            m = Math.max(m, Math.abs((double) a.data()[i] - b.data()[i]));
        }
        return m;
    }

    @Override
    public void close() {
        for (DeviceMemory m : temps) {
            m.close();
        }
        ops.close();
        kernels.close();
        context.close();
    }
}
