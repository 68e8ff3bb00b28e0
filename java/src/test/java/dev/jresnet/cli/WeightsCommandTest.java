package dev.jresnet.cli;

import com.sun.net.httpserver.HttpServer;
import dev.jresnet.resnet.Device;
import dev.jresnet.resnet.ResNet;
import dev.jresnet.tensor.Tensor;
import dev.jresnet.testing.PyTorchReference;
import dev.jresnet.testing.SetUpOnce;
import dev.jresnet.testing.TestNets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code jresnet weights download} against a loopback HTTP server serving a seeded resnet18 .pth that real PyTorch
 * wrote, named as torchvision names its files: NAME-SHA256PREFIX.pth.
 */
class WeightsCommandTest {
    @TempDir
    static Path shared;
    static byte[] pth;
    static String prefix;
    static HttpServer server;
    /** Served files by path: the server honours "Range: bytes=N-" with a 206. */
    static final Map<String, byte[]> FILES = new ConcurrentHashMap<>();
    static final List<String> RANGES = new CopyOnWriteArrayList<>();

    private static final SetUpOnce SET_UP = new SetUpOnce(WeightsCommandTest::seededPthAndServer);

    /** Per test, not @BeforeAll: surefire shows a class-level skip as "0 tests", hiding the reason. */
    @BeforeEach
    void requireTorch() throws Exception {
        PyTorchReference.assumeAvailable();
        SET_UP.run();
    }

    private static void seededPthAndServer() throws Exception {
        Path file = shared.resolve("seeded.pth");
        Process p = new ProcessBuilder(PyTorchReference.python(), "-c",
                "import sys, torch, torchvision\n"
                        + "torch.manual_seed(0)\n"
                        + "m = torchvision.models.resnet18(weights=None)\n"
                        + "torch.save(m.state_dict(), sys.argv[1])\n", file.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS) && p.exitValue() == 0, log);
        pth = Files.readAllBytes(file);
        prefix = Downloader.sha256(file).substring(0, 8);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            byte[] body = FILES.get(ex.getRequestURI().getPath());
            if (body == null) {
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            String range = ex.getRequestHeaders().getFirst("Range");
            int from = 0;
            if (range != null) {
                RANGES.add(range);
                from = Integer.parseInt(range.replaceAll("^bytes=(\\d+)-$", "$1"));
                ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/"
                        + body.length);
            }
            ex.sendResponseHeaders(range != null ? 206 : 200, body.length - from);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body, from, body.length - from);
            }
        });
        server.start();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.stop(0);
        }
    }

    static String url(String file) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + file;
    }

    static ClassifyCommandTest.Run download(Path dir, String from, String name) {
        return ClassifyCommandTest.run("weights", "download", name, "--dir", dir.toString(), "--from", from);
    }

    static float[] logits(Path weights) throws IOException {
        try (ResNet m = ResNet.load(weights, Device.cpu())) {
            Tensor x = TestNets.randomInput(1, 64, 7);
            return m.logits(x)[0];
        }
    }

    static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void downloadVerifiesConvertsAndPrintsThePathLast(@TempDir Path dir) throws Exception {
        String file = "resnet18-" + prefix + ".pth";
        FILES.put("/" + file, pth);
        ClassifyCommandTest.Run r = download(dir, url(file), "resnet18-imagenet1k-v1");
        assertEquals(0, r.exit(), r.err());
        String[] lines = r.out().strip().split("\n");
        Path written = dir.resolve("resnet18-imagenet1k-v1.safetensors");
        assertEquals(written.toString(), lines[lines.length - 1]);
        assertEquals(List.of("resnet18-imagenet1k-v1.safetensors"), listing(dir), "no .part left behind");
        Path original = dir.resolveSibling(dir.getFileName() + "-orig.pth");
        Files.write(original, pth);
        try {
            assertArrayEquals(logits(original), logits(written), 0f, "the converted file gives the .pth's logits");
        } finally {
            Files.delete(original);
        }
        // ... and every command finds it by default, for its architecture
        assertEquals(written, ModelOptions.defaultWeights("resnet18", Map.of("JRESNET_HOME", dir.toString()), dir));
        assertNull(ModelOptions.defaultWeights(null, Map.of("JRESNET_HOME", dir.toString()), dir),
                "resnet50 (the default architecture) is not cached");
        ClassifyCommandTest.Run list = ClassifyCommandTest.run("weights", "list", "--dir", dir.toString());
        assertTrue(list.out().lines().anyMatch(l -> l.startsWith("resnet18-imagenet1k-v1 ") && l.contains(" yes ")),
                list.out());
        assertTrue(list.out().lines().anyMatch(l -> l.startsWith("resnet50-imagenet1k-v2 ") && l.contains(" no ")
                && l.contains("https://download.pytorch.org/models/resnet50-11ad3fa6.pth")), list.out());
    }

    @Test
    void anInterruptedDownloadResumesWithARangeRequest(@TempDir Path dir) throws Exception {
        String file = "resnet18-" + prefix + ".pth";
        FILES.put("/" + file, pth);
        int have = pth.length / 3;
        Files.write(dir.resolve(file + ".part"), Arrays.copyOf(pth, have));
        RANGES.clear();
        ClassifyCommandTest.Run r = download(dir, url(file), "resnet18-imagenet1k-v1");
        assertEquals(0, r.exit(), r.err());
        assertEquals(List.of("bytes=" + have + "-"), RANGES, "only the missing bytes were asked for");
        assertTrue(r.err().contains("resuming"), r.err());
        assertEquals(List.of("resnet18-imagenet1k-v1.safetensors"), listing(dir));
    }

    @Test
    void aCorruptedDownloadIsRefusedAndLeavesNothing(@TempDir Path dir) throws Exception {
        byte[] bad = pth.clone();
        bad[bad.length / 2] ^= 1;
        String file = "resnet18-" + prefix + ".pth";
        FILES.put("/bad/" + file, bad);
        ClassifyCommandTest.Run r = download(dir, url("bad/" + file), "resnet18-imagenet1k-v1");
        assertEquals(2, r.exit(), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("jresnet: error:")).count(), r.err());
        assertTrue(r.err().contains("SHA-256") && r.err().contains(prefix) && r.err().contains("corrupted"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        assertEquals(List.of(), listing(dir), "neither a .part nor an output");
        assertEquals("", r.out());
    }

    @Test
    void anUnknownNameListsTheValidNamesOnOneLine(@TempDir Path dir) throws Exception {
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("weights", "download", "resnet51", "--dir", dir.toString());
        assertEquals(2, r.exit(), r.err());
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.get(0).contains("unknown weights resnet51") && lines.get(0).contains("resnet50-imagenet1k-v2")
                && lines.get(0).contains("resnext101_64x4d-imagenet1k-v1"), r.err());
        assertEquals(List.of(), listing(dir));
    }

    @Test
    void aMirrorWithoutAHashInItsNameIsRefused(@TempDir Path dir) throws Exception {
        ClassifyCommandTest.Run r = download(dir, url("resnet18.pth"), "resnet18-imagenet1k-v1");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("no SHA-256 prefix"), r.err());
        assertEquals(List.of(), listing(dir));
    }

    @Test
    void aLocalMirrorFileIsCheckedConvertedAndKept(@TempDir Path dir) throws Exception {
        Path mirror = Files.createDirectories(dir.resolve("usb"));
        Path local = Files.write(mirror.resolve("resnet18-" + prefix + ".pth"), pth);
        Path out = dir.resolve("out");
        ClassifyCommandTest.Run r = download(out, local.toString(), "resnet18-imagenet1k-v1");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().strip().endsWith(out.resolve("resnet18-imagenet1k-v1.safetensors").toString()), r.out());
        assertTrue(Files.isRegularFile(local), "the user's file stays");
        Path misnamed = Files.write(mirror.resolve("resnet18-00000000.pth"), pth);
        r = download(out, misnamed.toUri().toString(), "resnet18-imagenet1k-v1");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("differs from the 00000000"), r.err());
        assertTrue(Files.isRegularFile(misnamed), "a local file that fails the check is not deleted");
    }
}
