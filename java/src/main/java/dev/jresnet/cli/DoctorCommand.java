package dev.jresnet.cli;

import dev.jresnet.cuda.Doctor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * {@code jresnet doctor}: whether this machine can run the CUDA engine (versions, libraries, GPUs, kernels,
 * a one-convolution check against the CPU reference), and if not, why and what to install. Exit status 0
 * when usable, 1 when not.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Check the CUDA setup: driver, runtime, cuDNN, cuBLAS, NVRTC, GPUs, kernels, and one convolution "
                + "against the CPU reference. Exits 1 (with the reason and what to install) when CUDA is unusable.")
final class DoctorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        boolean usable = Doctor.report(spec.commandLine().getOut());
        return usable ? 0 : 1;
    }
}
