package dev.jresnet.cli;

import dev.jresnet.tensor.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code jresnet weights list|download}: torchvision's pretrained ImageNet weights, fetched and converted. */
@Command(name = "weights", mixinStandardHelpOptions = true,
        description = {"List and download torchvision's pretrained ImageNet weights.",
                "Downloads go to the cache, $XDG_CACHE_HOME/jresnet (else ~/.cache/jresnet), where every command "
                        + "finds them when no --weights is given (after $JRESNET_WEIGHTS and "
                        + ModelOptions.DEFAULT_WEIGHTS + ")."},
        subcommands = {WeightsCommand.ListCommand.class, WeightsCommand.DownloadCommand.class})
final class WeightsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "The pretrained weights of each supported architecture, and which are in the cache.")
    static final class ListCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--dir", paramLabel = "DIR", description = "The folder to look in. Default: the cache.")
        Path dir;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            Path d = dir != null ? dir : WeightsCache.dir();
            out.printf(Locale.ROOT, "%-30s %-17s %-14s %6s %8s  %-6s %s%n", "NAME", "ARCH", "TORCHVISION", "TOP-1",
                    "SIZE", "CACHED", "URL");
            for (PretrainedWeights w : PretrainedWeights.ALL) {
                out.printf(Locale.ROOT, "%-30s %-17s %-14s %5.2f%% %5d MB  %-6s %s%n", w.name(), w.arch(),
                        w.version(), w.top1(), Math.round(w.approximateBytes() / 1e6),
                        Files.isRegularFile(d.resolve(w.fileName())) ? "yes" : "no", w.url());
            }
            out.println("cache: " + d + " (sizes: the .pth download, about 4 bytes per parameter)");
            out.flush();
            return 0;
        }
    }

    @Command(name = "download", mixinStandardHelpOptions = true,
            description = {"Download NAME (see `jresnet weights list`), check the SHA-256 prefix in its file name, "
                    + "convert it to DIR/NAME.safetensors and print that path as the last line.",
                    "An interrupted download resumes from DIR/FILE.pth.part when run again."})
    static final class DownloadCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "NAME", description = "e.g. resnet50-imagenet1k-v2.")
        String name;

        @Option(names = "--dir", paramLabel = "DIR",
                description = "Where to write NAME.safetensors. Default: $XDG_CACHE_HOME/jresnet, else ~/.cache/jresnet.")
        Path dir;

        @Option(names = "--from", paramLabel = "URL", description = "A mirror (http, https), or a local file or "
                + "file: URL (offline machines), instead of torchvision's URL; its file name must still carry the "
                + "SHA-256 prefix, e.g. resnet50-11ad3fa6.pth, and that prefix is checked.")
        String from;

        @Override
        public Integer call() throws IOException {
            PretrainedWeights w = PretrainedWeights.byName(name);
            PrintWriter err = spec.commandLine().getErr();
            String source = from != null ? from : w.url();
            String prefix = PretrainedWeights.hashPrefix(source).orElseThrow(() -> new IllegalArgumentException(
                    "--from " + source + ": its file name carries no SHA-256 prefix (NAME-xxxxxxxx.pth, as "
                            + "torchvision's " + w.url().substring(w.url().lastIndexOf('/') + 1) + ")"));
            Path d = dir != null ? dir : WeightsCache.dir();
            Files.createDirectories(d);
            Path target = d.resolve(w.fileName());
            Path local = localFile(source);
            Path pth;
            boolean downloaded = local == null;
            if (downloaded) {
                URI uri = URI.create(source);
                String file = source.substring(source.lastIndexOf('/') + 1).replaceAll("[?#].*", "");
                pth = d.resolve(file + ".part");
                if (Files.isRegularFile(pth)) {
                    err.println("resuming " + pth + " (" + Files.size(pth) + " bytes already here)");
                }
                err.println("downloading " + source);
                err.flush();
                new Downloader(new ProgressBar(err, ProgressBar.isTerminal())).fetch(uri, pth);
            } else {
                dev.jresnet.io.FileChecks.requireNotAnInput(target, "the converted weights", local);
                pth = local;
            }
            try {
                String sha = Downloader.sha256(pth);
                if (!sha.startsWith(prefix)) {
                    throw new IOException(source + ": SHA-256 " + sha.substring(0, prefix.length())
                            + "... differs from the " + prefix + " its file name promises: a corrupted or altered "
                            + "download" + (downloaded ? ", removed" : ""));
                }
                err.println("sha256:  " + sha + " (matches " + prefix + ")");
                err.flush();
                String summary = ConvertCommand.convert(pth, target, DataType.F32, w.preset().id(), null, w.arch(),
                        source.substring(source.lastIndexOf('/') + 1), err);
                err.println(summary);
            } finally {
                if (downloaded) {
                    // A verified download lives on as the .safetensors; a refused one must not linger.
                    Files.deleteIfExists(pth);
                }
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println(target);
            out.flush();
            return 0;
        }

        /** The local file that {@code source} names (a path or a file: URL), or null for http(s). */
        static Path localFile(String source) {
            String lower = source.toLowerCase(Locale.ROOT);
            if (lower.startsWith("http://") || lower.startsWith("https://")) {
                return null;
            }
            if (lower.startsWith("file:")) {
                try {
                    return Path.of(new URI(source));
                } catch (URISyntaxException | IllegalArgumentException e) {
                    throw new IllegalArgumentException("--from " + source + ": not a valid file: URL (" + e.getMessage()
                            + ")");
                }
            }
            if (source.matches("^[A-Za-z][A-Za-z0-9+.-]*://.*")) {
                throw new IllegalArgumentException("--from " + source + ": only http, https and local files are supported");
            }
            return Path.of(source);
        }
    }
}
