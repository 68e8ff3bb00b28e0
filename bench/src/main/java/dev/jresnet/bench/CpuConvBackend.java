package dev.jresnet.bench;

import dev.jresnet.cpu.CpuOps;
import dev.jresnet.cpu.Gemm;
import dev.jresnet.cpu.GemmKernel;
import dev.jresnet.cpu.PlainGemm;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** The CPU's convolution ({@link CpuOps#conv2d}: im2col + GEMM) on each GEMM kernel this JVM can run. */
final class CpuConvBackend implements ConvBackend {
    @Override
    public String section() {
        return "cpu";
    }

    /** The plain kernel always; the Vector API one when the JVM has the jdk.incubator.vector module. */
    @Override
    public List<ConvAlgorithm> algorithms() {
        List<ConvAlgorithm> list = new ArrayList<>();
        list.add(new Kernel(new PlainGemm(), true));
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            try {
                // By name, as Gemm does, so that a JVM without the module never links the class.
                GemmKernel vector = (GemmKernel) Class.forName("dev.jresnet.cpu.VectorGemm")
                        .getDeclaredConstructor().newInstance();
                list.add(new Kernel(vector, false));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot load the Vector API GEMM kernel", e);
            }
        }
        return list;
    }

    private record Kernel(GemmKernel kernel, boolean reference) implements ConvAlgorithm {
        @Override
        public String name() {
            return kernel.name();
        }

        @Override
        public boolean inUse() {
            return kernel.name().equals(Gemm.kernelName());
        }

        @Override
        public Prepared prepare(ConvShape s, int batch, float[] input, float[] weight) {
            Tensor in = new Tensor(Shape.of(batch, s.c(), s.h(), s.w()), input);
            Tensor w = new Tensor(Shape.of(s.k(), s.c() / s.groups(), s.r(), s.r()), weight);
            Tensor out = Tensor.zeros(batch, s.k(), s.p(), s.q());
            return new Prepared() {
                @Override
                public double run() {
                    long t0 = System.nanoTime();
                    CpuOps.conv2d(kernel, out, in, w, null, s.stride(), s.pad(), s.groups());
                    return (System.nanoTime() - t0) / 1e9;
                }

                @Override
                public float[] output() {
                    return out.data();
                }
            };
        }
    }
}
