package dev.jresnet.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * Downloads one URL into a {@code .part} file with the JDK's HttpClient, resuming what an earlier, interrupted run
 * left there (an HTTP Range request; a server that ignores it sends the whole file again, which then replaces the
 * part). A file is never larger than {@link #MAX_BYTES}, so a hostile server cannot fill the disk.
 */
final class Downloader {
    /** 4 GiB: the largest torchvision ResNet (wide_resnet101_2) is about 510 MB. */
    static final long MAX_BYTES = 4L << 30;
    private static final int BUFFER = 1 << 20;

    private final HttpClient client = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(30))
            .followRedirects(HttpClient.Redirect.NORMAL) // download.pytorch.org answers through a CDN
            .build();
    private final ProgressBar bar;

    Downloader(ProgressBar bar) {
        this.bar = bar;
    }

    /** Completes {@code part} from {@code uri}; whatever it already holds is taken as the file's first bytes. */
    void fetch(URI uri, Path part) throws IOException {
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        HttpRequest.Builder rb = HttpRequest.newBuilder(uri).GET();
        if (have > 0) {
            rb.header("Range", "bytes=" + have + "-");
        }
        HttpResponse<InputStream> r;
        try {
            r = client.send(rb.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("downloading " + uri + ": interrupted", e);
        } catch (IOException e) {
            // HttpClient's ConnectException has no message: say what it means
            String why = e.getMessage() != null ? e.getMessage() : e instanceof java.net.ConnectException
                    ? "cannot connect (refused, or no network)" : e.getClass().getSimpleName();
            throw new IOException("downloading " + uri + ": " + why, e);
        }
        try (InputStream body = r.body()) {
            boolean append;
            if (r.statusCode() == 206 && have > 0) {
                String range = r.headers().firstValue("Content-Range").orElse("");
                if (!range.startsWith("bytes " + have + "-")) {
                    throw new IOException("downloading " + uri + ": asked for bytes " + have + "- but the server sent "
                            + (range.isEmpty() ? "no Content-Range" : range));
                }
                append = true;
            } else if (r.statusCode() == 200) {
                append = false; // no Range asked, or the server ignores it: the whole file again
                have = 0;
            } else if (r.statusCode() == 416 && have > 0) {
                return; // the part is already complete (or too long): the hash check decides
            } else {
                throw new IOException("downloading " + uri + ": HTTP " + r.statusCode());
            }
            OptionalLong length = r.headers().firstValueAsLong("Content-Length");
            long total = length.isPresent() ? have + length.getAsLong() : -1;
            if (total > MAX_BYTES) {
                throw new IOException("downloading " + uri + ": " + total + " bytes, more than the "
                        + (MAX_BYTES >> 30) + " GiB a weights file may have");
            }
            copy(body, part, append, have, total, uri);
        }
    }

    private void copy(InputStream body, Path part, boolean append, long have, long total, URI uri) throws IOException {
        bar.start();
        long start = System.nanoTime();
        long done = have;
        byte[] buf = new byte[BUFFER];
        try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            for (int n; (n = body.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
                done += n;
                if (done > MAX_BYTES) {
                    throw new IOException("downloading " + uri + ": more than the " + (MAX_BYTES >> 30)
                            + " GiB a weights file may have");
                }
                bar.draw(progress(done, have, total, start), false);
            }
        }
        if (total >= 0 && done != total) {
            throw new IOException("downloading " + uri + ": the connection ended after " + done + " of " + total
                    + " bytes; run the same command again to resume");
        }
        bar.draw(progress(done, have, total, start), true);
    }

    static String progress(long done, long resumedFrom, long total, long startNanos) {
        double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
        double rate = (done - resumedFrom) / seconds;
        String size = total >= 0 ? String.format(Locale.ROOT, "%.1f/%.1f MB", done / 1e6, total / 1e6)
                : String.format(Locale.ROOT, "%.1f MB", done / 1e6);
        String eta = total >= 0 && rate > 0 ? "  ETA " + ProgressBar.duration((total - done) / rate) : "";
        return String.format(Locale.ROOT, "download %s %s  %.1f MB/s%s", ProgressBar.bar(done, total), size,
                rate / 1e6, eta);
    }

    /** The file's SHA-256 as lower-case hex. */
    static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        byte[] buf = new byte[BUFFER];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) >= 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
