package dev.jresnet.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code jresnet serve} as a process: it prints its port, answers, says 503 to an image its heap cannot decode, and
 * on SIGTERM finishes the request in progress.
 */
class ServeCommandTest {
    @Test
    void badOptionsAreOneLineBeforeAnyModelIsBuilt() {
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("serve", "--overflow", "drop", "--untrained");
        assertEquals(2, r.exit());
        assertEquals("jresnet: error: --overflow must be block or reject, got \"drop\"", r.err().strip());
        r = ClassifyCommandTest.run("serve", "--max-body-mb", "0", "--untrained");
        assertTrue(r.err().contains("--max-body-mb must be in (0, 2047], got 0"), r.err());
    }

    /**
     * An image under the pixel bound that the server's heap cannot decode (20000 x 2000: 120 MB of RGB, from a 117 KB
     * PNG, against a 200 MB heap) is a 503 saying so, not a 500 or a dead server: the next request is answered.
     */
    @Test
    void anImageTheHeapCannotHoldIs503AndTheServerServesOn(@TempDir Path tmp) throws Exception {
        Path stderr = tmp.resolve("stderr.txt");
        Process p = startServer("-Xmx200m", stderr);
        try {
            String url = listeningUrl(p);
            HttpClient client = HttpClient.newHttpClient();
            HttpResponse<String> big = client.send(HttpRequest.newBuilder(URI.create(url + "/v1/classify"))
                    .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(
                            dev.jresnet.image.TestPngs.black(20000, 2000))).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(503, big.statusCode(), big.body());
            assertTrue(big.body().contains("the server has not enough memory to decode the image")
                    && big.body().contains("JRESNET_XMX"), big.body());
            byte[] photo = Files.readAllBytes(InferenceServerTest.sample("chelsea.png"));
            HttpResponse<String> next = client.send(HttpRequest.newBuilder(URI.create(url + "/v1/classify"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(photo)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, next.statusCode(), next.body() + "\n" + Files.readString(stderr));
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** {@code jresnet serve} on an untrained resnet18, any free port, in a child JVM of this heap. */
    private static Process startServer(String heap, Path stderr) throws java.io.IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return new ProcessBuilder(List.of(System.getProperty("java.home") + "/bin/java",
                "--add-modules", "jdk.incubator.vector", heap, "-cp", cp, "dev.jresnet.cli.Main", "serve",
                "--port", "0", "--arch", "resnet18", "--untrained", "--device", "cpu"))
                .redirectError(stderr.toFile()).start();
    }

    /** The URL the server prints once it listens. */
    private static String listeningUrl(Process p) throws java.io.IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        for (String line; (line = out.readLine()) != null; ) {
            if (line.startsWith("listening on ")) {
                String url = line.substring("listening on ".length());
                assertTrue(url.startsWith("http://127.0.0.1:"), url);
                return url;
            }
        }
        throw new AssertionError("the server printed no port");
    }

    @Test
    void sigtermLetsTheRequestInProgressFinishThenStops(@TempDir Path tmp) throws Exception {
        Path stderr = tmp.resolve("stderr.txt");   // destroy() closes the process's pipes, so not a pipe
        Process p = startServer("-Xmx512m", stderr);
        try {
            String url = listeningUrl(p);
            HttpClient client = HttpClient.newHttpClient();
            assertEquals(200, client.send(HttpRequest.newBuilder(URI.create(url + "/v2/health/ready")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            byte[] photo = Files.readAllBytes(InferenceServerTest.sample("chelsea.png"));
            CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(
                    HttpRequest.newBuilder(URI.create(url + "/v1/classify")).POST(
                            HttpRequest.BodyPublishers.ofByteArray(photo)).build(), HttpResponse.BodyHandlers.ofString());
            Thread.sleep(300);          // the request reaches the server (its first pass takes seconds, cold)
            p.destroy();                // SIGTERM
            HttpResponse<String> r = inFlight.get(60, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"top\""), r.body());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the server did not stop");
            String err = Files.readString(stderr);
            assertTrue(err.contains("jresnet: stopping: no new requests; finishing the 1 in progress"), err);
            assertTrue(err.contains("jresnet: stopped; every request in progress was answered"), err);
        } finally {
            p.destroyForcibly();
        }
    }
}
