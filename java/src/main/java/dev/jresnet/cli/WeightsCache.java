package dev.jresnet.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The user cache where {@code jresnet weights download} writes by default, and where every command that takes
 * {@code --weights} looks last: {@code $XDG_CACHE_HOME/jresnet} when XDG_CACHE_HOME is set (an absolute path, as the
 * XDG spec requires), else {@code ~/.cache/jresnet}. Files in it are named NAME.safetensors (PretrainedWeights).
 */
final class WeightsCache {
    private WeightsCache() {}

    static Path dir() {
        return dir(System.getenv(), System.getProperty("user.home"));
    }

    static Path dir(Map<String, String> env, String userHome) {
        String xdg = env.get("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "jresnet");
        }
        return Path.of(userHome, ".cache", "jresnet");
    }

    /** The best cached weights of {@code arch} in {@code dir} (V2 before V1), if any was downloaded. */
    static Optional<Path> find(Path dir, String arch) {
        for (PretrainedWeights w : PretrainedWeights.of(arch)) {
            Path p = dir.resolve(w.fileName());
            if (Files.isRegularFile(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
