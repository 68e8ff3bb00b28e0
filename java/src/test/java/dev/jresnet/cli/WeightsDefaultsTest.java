package dev.jresnet.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where the weights cache is, the order of the default weights, and the hint an untrained run prints. */
class WeightsDefaultsTest {
    @Test
    void cacheIsXdgCacheHomeElseDotCache() {
        assertEquals(Path.of("/x/cache/jresnet"), WeightsCache.dir(Map.of("XDG_CACHE_HOME", "/x/cache"), "/home/u"));
        assertEquals(Path.of("/home/u/.cache/jresnet"), WeightsCache.dir(Map.of(), "/home/u"));
        assertEquals(Path.of("/home/u/.cache/jresnet"), WeightsCache.dir(Map.of("XDG_CACHE_HOME", "rel"), "/home/u"),
                "a relative XDG_CACHE_HOME is ignored, as the XDG spec says");
    }

    @Test
    void cacheComesLastAndV2BeforeV1(@TempDir Path tmp) throws Exception {
        Path cache = Files.createDirectories(tmp.resolve("cache"));
        Map<String, String> home = Map.of("JRESNET_HOME", tmp.toString());
        assertNull(ModelOptions.defaultWeights(null, home, cache));
        Path v1 = Files.writeString(cache.resolve("resnet50-imagenet1k-v1.safetensors"), "x");
        assertEquals(v1, ModelOptions.defaultWeights(null, home, cache));
        Path v2 = Files.writeString(cache.resolve("resnet50-imagenet1k-v2.safetensors"), "x");
        assertEquals(v2, ModelOptions.defaultWeights("resnet50", home, cache));
        assertNull(ModelOptions.defaultWeights("resnet101", home, cache), "only the architecture asked");
        Path local = Files.createDirectories(tmp.resolve("weights")).resolve("resnet50.safetensors");
        Files.writeString(local, "x");
        assertEquals(local, ModelOptions.defaultWeights(null, home, cache), "weights/resnet50.safetensors first");
        assertEquals(Path.of("/e.pth"), ModelOptions.defaultWeights(null,
                Map.of("JRESNET_HOME", tmp.toString(), "JRESNET_WEIGHTS", "/e.pth"), cache), "then $JRESNET_WEIGHTS");
    }

    @Test
    void everyArchitectureHasWeightsWithAHashedTorchvisionUrl() {
        for (var a : dev.jresnet.graph.Architecture.KNOWN) {
            assertTrue(PretrainedWeights.recommended(a.id()).isPresent(), a.id());
        }
        for (PretrainedWeights w : PretrainedWeights.ALL) {
            dev.jresnet.graph.Architecture.of(w.arch());
            assertTrue(w.url().startsWith("https://download.pytorch.org/models/" + w.arch() + "-"), w.url());
            assertEquals(8, PretrainedWeights.hashPrefix(w.url()).orElseThrow().length(), w.url());
        }
        assertEquals("jresnet weights download resnet50-imagenet1k-v2", PretrainedWeights.downloadCommand("resnet50"));
        assertEquals("jresnet weights download resnet18-imagenet1k-v1", PretrainedWeights.downloadCommand("resnet18"));
    }

    @Test
    void classifyUntrainedPrintsTheDownloadCommand() {
        Path photo = dev.jresnet.testing.PyTorchReference.projectRoot().resolve("samples/chelsea.png");
        ClassifyCommandTest.Run r = ClassifyCommandTest.run("classify", photo.toString(), "--device", "cpu",
                "--untrained", "--arch", "resnet18");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("UNTRAINED") && r.err().contains("`jresnet weights download resnet18-imagenet1k-v1`"),
                r.err());
    }
}
