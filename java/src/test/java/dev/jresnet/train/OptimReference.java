package dev.jresnet.train;

import dev.jresnet.tensor.Npy;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PyTorchReference;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The files of weights/reference/optim_reference.py, made once per test JVM. */
final class OptimReference {
    static final List<String> NAMES = List.of("conv.weight", "bn.bias", "fc.weight", "fc.bias");
    static final int STEPS = 5;
    private static Path dir;

    private OptimReference() {}

    static synchronized Path dir() throws IOException {
        PyTorchReference.assumeAvailable();
        if (dir == null) {
            Path d = PyTorchReference.scratch("optim");
            PyTorchReference.run("optim_reference.py", d.toString());
            dir = d;
        }
        return dir;
    }

    static Tensor npy(String name) throws IOException {
        return Npy.read(dir().resolve(name + ".npy"));
    }

    static boolean exists(String name) throws IOException {
        return Files.exists(dir().resolve(name + ".npy"));
    }

    /** {@code key=value} pairs of the line of {@code file} that starts with {@code tag}. */
    static Map<String, String> settings(String file, String tag) throws IOException {
        for (String line : Files.readAllLines(dir().resolve(file))) {
            String[] parts = line.trim().split(" ");
            if (parts[0].equals(tag) || (tag.isEmpty() && parts[0].contains("="))) {
                Map<String, String> m = new HashMap<>();
                for (String p : parts) {
                    int eq = p.indexOf('=');
                    if (eq > 0) {
                        m.put(p.substring(0, eq), p.substring(eq + 1));
                    }
                }
                return m;
            }
        }
        throw new IllegalStateException(file + " has no line " + tag);
    }

    /** schedules.txt: name -> {base lr, total steps, lr of each step}. */
    static Map<String, double[]> schedules() throws IOException {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(dir().resolve("schedules.txt"))) {
            String[] parts = line.trim().split(" ");
            double[] v = new double[parts.length - 1];
            for (int i = 1; i < parts.length; i++) {
                v[i - 1] = Double.parseDouble(parts[i]);
            }
            out.put(parts[0], v);
        }
        return out;
    }
}
