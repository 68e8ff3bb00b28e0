package dev.jresnet.bench;

import dev.jresnet.cuda.CudaAvailability;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * {@code bench/gpu-check.sh} on a machine without a GPU, run straight from the checkout as the README says: it must
 * fail fast, say why, and leave what a GPU machine's run returns (at most 8 plain files with plain names, a summary
 * with the reason and an archive of the logs), so that the one-shot check on a GPU never loses its report.
 */
class GpuCheckScriptTest {
    private static final Pattern PLAIN_NAME = Pattern.compile("[A-Za-z0-9._-]+");

    static Path projectRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("bench/gpu-check.sh"))) {
                return p;
            }
        }
        throw new IllegalStateException("no bench/gpu-check.sh above " + Path.of("").toAbsolutePath());
    }

    @Test
    void withoutAGpuItFailsFastWithTheReasonInAtMostEightFiles(@TempDir Path out) throws Exception {
        CudaAvailability.Status cuda = CudaAvailability.status();
        assumeFalse(cuda.usable(), "a GPU is usable here: the script would run the whole 8-minute check");
        ProcessBuilder pb = new ProcessBuilder("bash", "bench/gpu-check.sh").directory(projectRoot().toFile())
                .redirectErrorStream(true);
        pb.environment().put("OUT", out.toString());
        pb.environment().put("GPU_CHECK_DIST", "none"); // the checkout, even where a distribution was built
        Process p = pb.start();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the check must fail fast without a GPU");
        assertEquals(1, p.exitValue(), stdout);
        assertTrue(stdout.contains("jresnet doctor"), "doctor runs first:\n" + stdout);

        List<Path> files;
        try (Stream<Path> s = Files.walk(out)) {
            files = s.filter(f -> !f.equals(out)).toList();
        }
        assertTrue(files.size() <= 8, "at most 8 files come back from a GPU run: " + files);
        for (Path f : files) {
            assertTrue(Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS), "only plain files, no folders or links: " + f);
            assertTrue(PLAIN_NAME.matcher(f.getFileName().toString()).matches(), "plain name: " + f);
            assertTrue(Files.size(f) < 16L << 20, "under 16 MiB: " + f);
        }
        String summary = Files.readString(out.resolve("summary.txt"));
        assertTrue(summary.startsWith("gpu-check: FAILED"), summary);
        assertTrue(summary.contains("source: checkout"), summary);
        String reason = cuda.reason();
        assertTrue(summary.contains("0. doctor: FAILED") && summary.contains("usable: no"), summary);
        assertTrue(reason == null || summary.contains(reason.lines().findFirst().orElse(reason)),
                "the summary names the reason (" + reason + "):\n" + summary);
        assertTrue(tarEntries(out.resolve("logs.tar.gz")).contains("doctor.txt"), "the archive holds doctor's log");
    }

    /** Entry names of a .tar.gz (ustar headers: name in the first 100 bytes of each 512-byte header). */
    private static List<String> tarEntries(Path tgz) throws IOException {
        byte[] tar;
        try (GZIPInputStream in = new GZIPInputStream(Files.newInputStream(tgz))) {
            tar = in.readAllBytes();
        }
        java.util.ArrayList<String> names = new java.util.ArrayList<>();
        int pos = 0;
        while (pos + 512 <= tar.length && tar[pos] != 0) {
            String name = new String(tar, pos, 100, StandardCharsets.US_ASCII).replace("\0", "").trim();
            String size = new String(tar, pos + 124, 12, StandardCharsets.US_ASCII).replace("\0", "").trim();
            names.add(Path.of(name).getFileName() == null ? name : Path.of(name).getFileName().toString());
            long bytes = size.isEmpty() ? 0 : Long.parseLong(size, 8);
            pos += 512 + (int) ((bytes + 511) / 512 * 512);
        }
        return names;
    }
}
