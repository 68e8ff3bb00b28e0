package dev.jresnet.train;

import dev.jresnet.image.Preset;
import dev.jresnet.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class DataLoaderTest {
    private static final int PER_CLASS = 4; // 6 classes: 24 images

    @TempDir
    static Path data;

    private static List<Sample> samples;

    @BeforeAll
    static void dataset() throws IOException {
        SyntheticShapes.generate(data, PER_CLASS, 48, 1);
        samples = ImageFolder.scan(data).samples();
    }

    private static DataLoader.Builder loader(List<Sample> s) {
        return DataLoader.builder(s, Transforms.train(Preset.TORCHVISION_V1));
    }

    private static List<Batch> all(DataLoader loader, int epoch) {
        List<Batch> out = new ArrayList<>();
        loader.epoch(epoch).forEach(out::add);
        return out;
    }

    @Test
    void everySampleOncePerEpoch() {
        try (DataLoader loader = loader(samples).batchSize(5).shuffle(true).seed(3).workers(2).build()) {
            assertEquals(5, loader.batchesPerEpoch());
            for (int epoch = 0; epoch < 2; epoch++) {
                List<Batch> batches = all(loader, epoch);
                assertEquals(List.of(5, 5, 5, 5, 4), batches.stream().map(Batch::size).toList());
                List<Path> seen = batches.stream().flatMap(b -> b.files().stream()).sorted().toList();
                assertEquals(samples.stream().map(Sample::file).sorted().toList(), seen);
                for (Batch b : batches) {
                    b.images().require("batch", b.size(), 3, 224, 224);
                    for (int i = 0; i < b.size(); i++) {
                        int label = b.labels()[i];
                        Path file = b.files().get(i);
                        assertTrue(samples.contains(new Sample(file, label)), file + " label " + label);
                    }
                }
            }
            assertTrue(loader.skipped().isEmpty());
        }
    }

    @Test
    void sameBatchesBitForBitWhateverTheThreadCount() {
        try (DataLoader one = loader(samples).batchSize(7).shuffle(true).seed(11).workers(1).prefetch(1).build();
             DataLoader three = loader(samples).batchSize(7).shuffle(true).seed(11).workers(3).build()) {
            for (int epoch = 0; epoch < 2; epoch++) {
                List<Batch> a = all(one, epoch);
                List<Batch> b = all(three, epoch);
                assertEquals(a.size(), b.size());
                for (int k = 0; k < a.size(); k++) {
                    assertEquals(a.get(k).files(), b.get(k).files());
                    assertArrayEquals(a.get(k).labels(), b.get(k).labels());
                    assertArrayEquals(a.get(k).images().data(), b.get(k).images().data(), "epoch " + epoch + " batch " + k);
                }
            }
            // Another epoch: another order and other augmentations.
            assertNotEquals(all(one, 0).get(0).files(), all(one, 1).get(0).files());
        }
    }

    @Test
    void unshuffledKeepsListOrderAndDropLastDropsTheTail() {
        try (DataLoader loader = DataLoader.builder(samples, Transforms.eval(Preset.TORCHVISION_V1))
                .batchSize(10).dropLast(true).build()) {
            List<Batch> batches = all(loader, 0);
            assertEquals(2, batches.size());
            assertEquals(samples.subList(0, 20).stream().map(Sample::file).toList(),
                    batches.stream().flatMap(b -> b.files().stream()).toList());
        }
    }

    @Test
    void augmentationDependsOnSampleNotOnPositionInTheShuffle() {
        // The same sample in the same epoch gets the same tensor with or without shuffling.
        try (DataLoader plain = loader(samples).batchSize(24).seed(5).build();
             DataLoader shuffled = loader(samples).batchSize(24).shuffle(true).seed(5).build()) {
            Batch a = all(plain, 2).get(0);
            Batch b = all(shuffled, 2).get(0);
            int per = 3 * 224 * 224;
            for (int i = 0; i < 24; i++) {
                int j = b.files().indexOf(a.files().get(i));
                assertArrayEquals(Arrays.copyOfRange(a.images().data(), i * per, (i + 1) * per),
                        Arrays.copyOfRange(b.images().data(), j * per, (j + 1) * per));
            }
        }
    }

    @Test
    void corruptFilesAreSkippedAndListedOnce(@TempDir Path tmp) throws IOException {
        Path bad = tmp.resolve("broken.jpg");
        Files.write(bad, "this is not a jpeg at all".getBytes());
        Path truncated = tmp.resolve("truncated.png");
        byte[] good = Files.readAllBytes(samples.get(0).file());
        Files.write(truncated, Arrays.copyOf(good, good.length / 2));
        List<Sample> withBad = new ArrayList<>(samples.subList(0, 6));
        withBad.add(2, new Sample(bad, 0));
        withBad.add(new Sample(truncated, 1));
        try (DataLoader loader = loader(withBad).batchSize(4).workers(2).build()) {
            for (int epoch = 0; epoch < 2; epoch++) {
                List<Batch> batches = all(loader, epoch);
                // Positions [0,4) lose broken.jpg, [4,8) lose truncated.png: smaller batches, not refilled.
                assertEquals(List.of(3, 3), batches.stream().map(Batch::size).toList());
                assertEquals(samples.subList(0, 6).stream().map(Sample::file).toList(),
                        batches.stream().flatMap(b -> b.files().stream()).toList());
            }
            List<Skipped> skipped = loader.skipped();
            assertEquals(List.of(bad, truncated), skipped.stream().map(Skipped::file).toList());
            assertTrue(skipped.get(0).reason().contains("not an image"), skipped.get(0).reason());
        }
    }

    @Test
    void aBatchWithOnlyBadFilesIsLeftOut(@TempDir Path tmp) throws IOException {
        List<Sample> list = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path bad = tmp.resolve("bad" + i + ".png");
            Files.write(bad, new byte[] {1, 2, 3});
            list.add(new Sample(bad, 0));
        }
        list.addAll(samples.subList(0, 3));
        try (DataLoader loader = loader(list).batchSize(3).build()) {
            List<Batch> batches = all(loader, 0);
            assertEquals(1, batches.size());
            assertEquals(3, loader.skipped().size());
        }
    }

    @Test
    void transformFailurePropagatesWithContext() {
        Transform failing = (image, rng) -> {
            throw new IllegalStateException("boom");
        };
        try (DataLoader loader = DataLoader.builder(samples, failing).batchSize(4).build()) {
            Iterator<Batch> it = loader.epoch(0).iterator();
            DataLoaderException e = assertThrows(DataLoaderException.class, it::hasNext);
            assertTrue(e.getMessage().contains("boom"), e.getMessage());
            assertTrue(e.getMessage().contains("epoch 0, batch 0, sample 0"), e.getMessage());
            assertTrue(e.getMessage().contains(samples.get(0).file().toString()), e.getMessage());
        }
    }

    @Test
    void closingMidEpochStopsTheWorkersPromptly() {
        List<Sample> many = new ArrayList<>();
        for (int r = 0; r < 20; r++) {
            many.addAll(samples);
        }
        DataLoader loader = loader(many).batchSize(8).workers(2).build();
        Iterator<Batch> it = loader.epoch(0).iterator();
        assertTrue(it.hasNext());
        it.next();
        long t0 = System.nanoTime();
        loader.close();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 1500, "close took " + ms + " ms");
        assertThrows(IllegalStateException.class, it::hasNext);
        assertThrows(IllegalStateException.class, () -> loader.epoch(1).iterator());
        assertNoWorkersLeft();
    }

    @Test
    void closingFromAnotherThreadWakesABlockedConsumer() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        CountDownLatch entered = new CountDownLatch(1);
        Transform stuck = (image, rng) -> {
            entered.countDown();
            try {
                never.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException("interrupted", e);
            }
            throw new AssertionError("unreachable");
        };
        DataLoader loader = DataLoader.builder(samples, stuck).batchSize(4).workers(2).build();
        ExecutorService consumer = Executors.newSingleThreadExecutor();
        try {
            Future<Boolean> blocked = consumer.submit(() -> loader.epoch(0).iterator().hasNext());
            assertTrue(entered.await(10, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            loader.close();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 1500, "close took " + ms + " ms");
            try {
                blocked.get(2, TimeUnit.SECONDS);
                fail("the consumer should learn that the loader closed");
            } catch (java.util.concurrent.ExecutionException e) {
                assertTrue(e.getCause() instanceof IllegalStateException, e.getCause().toString());
                assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
            }
            assertNoWorkersLeft();
        } finally {
            consumer.shutdownNow();
        }
    }

    @Test
    void startingAnotherEpochAbandonsTheOldOne() {
        try (DataLoader loader = loader(samples).batchSize(4).build()) {
            Iterator<Batch> first = loader.epoch(0).iterator();
            first.next();
            List<Batch> second = all(loader, 1);
            assertEquals(6, second.size());
            IllegalStateException e = assertThrows(IllegalStateException.class, first::hasNext);
            assertTrue(e.getMessage().contains("abandoned"), e.getMessage());
        }
    }

    @Test
    void emptySampleListHasNoBatches() {
        try (DataLoader loader = loader(List.of()).build()) {
            assertFalse(loader.epoch(0).iterator().hasNext());
        }
    }

    @Test
    void badOptionsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> loader(samples).batchSize(0));
        assertThrows(IllegalArgumentException.class, () -> loader(samples).workers(0));
        assertThrows(IllegalArgumentException.class, () -> loader(samples).prefetch(0));
        try (DataLoader loader = loader(samples).build()) {
            assertThrows(IllegalArgumentException.class, () -> loader.epoch(-1));
        }
    }

    private static void assertNoWorkersLeft() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("jresnet-data-")) {
                try {
                    t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                assertFalse(t.isAlive(), t.getName() + " still running");
            }
        }
    }
}
